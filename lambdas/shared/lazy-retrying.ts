/**
 * A value computed on first use and kept; a failed attempt is not kept, so the next
 * invocation tries again instead of every request failing until the sandbox is recycled.
 */
export function lazyRetrying<T>(make: () => Promise<T>): () => Promise<T> {
  let pending: Promise<T> | undefined;
  return () => {
    pending ??= make().catch((error) => {
      pending = undefined;
      throw error;
    });
    return pending;
  };
}
