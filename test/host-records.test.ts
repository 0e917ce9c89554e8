import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { UnavailableError } from '../core/errors.ts';
import { CloudHostDirectory } from '../lambdas/stores/cloud-host-directory.ts';
import { CloudRecordsServer } from './fixtures/cloud-records-server.ts';

const CLUSTER = 'arn:aws:ecs:us-east-1:123456789012:cluster/apps';

/** The scheduler's reading of EC2's and ECS's records, through the real SDK clients, against a stand-in of both APIs. */
describe('CloudHostDirectory (EC2 and ECS records)', () => {
  let cloud: CloudRecordsServer;
  let directory: CloudHostDirectory;

  beforeAll(async () => {
    cloud = await CloudRecordsServer.start(
      [
        { id: 'i-0123456789abcdef0', zone: 'us-east-1a', ips: ['10.0.1.7', '10.0.1.8'] },
        { id: 'i-0fedcba9876543210', zone: 'us-east-1b', ips: ['10.0.2.9'], state: 'terminated' },
        { id: 'i-0aaaaaaaaaaaaaaa1', zone: 'us-east-1c', ips: ['10.0.3.3'] },
      ],
      [
        { id: '0123456789abcdef0123456789abcdef', cluster: CLUSTER, zone: 'us-east-1c', instanceId: 'i-0aaaaaaaaaaaaaaa1' },
        { id: 'fedcba9876543210fedcba9876543210', cluster: CLUSTER, zone: 'us-east-1c', instanceId: 'i-0aaaaaaaaaaaaaaa1', status: 'STOPPED' },
      ],
    );
    directory = new CloudHostDirectory({ region: 'us-east-1', ec2Endpoint: cloud.endpoint, ecsEndpoint: cloud.endpoint, credentials: { accessKeyId: 'AKIDEXAMPLE', secretAccessKey: 'secret' } });
  });
  afterAll(() => cloud?.stop());

  it('reads an instance\'s zone and every private address', async () => {
    expect(await directory.lookup({ peerId: 'i-0123456789abcdef0' })).toEqual({ site: 'us-east-1a', addrs: ['10.0.1.7', '10.0.1.8'] });
  });

  it('knows no terminated, unknown or malformed instance, without asking EC2 for the malformed one', async () => {
    expect(await directory.lookup({ peerId: 'i-0fedcba9876543210' })).toBeUndefined();
    expect(await directory.lookup({ peerId: 'i-0bbbbbbbbbbbbbbb2' })).toBeUndefined();
    const before = cloud.calls.length;
    expect(await directory.lookup({ peerId: 'laptop-1' })).toBeUndefined();
    expect(cloud.calls.length).toBe(before);
  });

  it('reads an ECS task\'s zone and its container instance\'s addresses; a stopped task or another cluster is unknown', async () => {
    expect(await directory.lookup({ peerId: '0123456789abcdef0123456789abcdef', ecsCluster: CLUSTER })).toEqual({ site: 'us-east-1c', addrs: ['10.0.3.3'] });
    expect(await directory.lookup({ peerId: 'fedcba9876543210fedcba9876543210', ecsCluster: CLUSTER })).toBeUndefined();
    expect(await directory.lookup({ peerId: '0123456789abcdef0123456789abcdef', ecsCluster: CLUSTER.replace('apps', 'other') })).toBeUndefined();
  });

  it('turns a throttled cloud API into UnavailableError (503), never "unknown host"', async () => {
    cloud.throttle = true;
    try {
      await expect(directory.lookup({ peerId: 'i-0123456789abcdef0' })).rejects.toBeInstanceOf(UnavailableError);
      await expect(directory.lookup({ peerId: '0123456789abcdef0123456789abcdef', ecsCluster: CLUSTER })).rejects.toBeInstanceOf(UnavailableError);
    } finally {
      cloud.throttle = false;
    }
  });

  it('turns an answer that is not the API\'s (a proxy\'s HTML page, a cut-off body) into UnavailableError (503), never a 500', async () => {
    const answers = [
      { status: 502, body: '<html><body><h1>502 Bad Gateway</h1></body>' },
      { status: 200, body: '<?xml version="1.0"?><DescribeInstancesResponse><reservationSet><item>' },
      { status: 200, body: '' },
    ];
    try {
      for (const answer of answers) {
        cloud.garble = answer;
        await expect(directory.lookup({ peerId: 'i-0123456789abcdef0' })).rejects.toBeInstanceOf(UnavailableError);
        await expect(directory.lookup({ peerId: '0123456789abcdef0123456789abcdef', ecsCluster: CLUSTER })).rejects.toBeInstanceOf(UnavailableError);
      }
    } finally {
      cloud.garble = undefined;
    }
  });
});
