// The mapping is shared with the manager's image preheat (lambdas/manager/image-preheat-service.ts).
export { DEFAULT_UPSTREAM, RegistryUpstreams } from '../../core/registry-upstreams.ts';
