// A tiny typed listener list the transports share for their events and state changes.
/** A small typed event hub the transports share for their listener lists. */
export class Listeners<T> {
  private readonly set = new Set<(value: T) => void>();
  add(fn: (value: T) => void): () => void {
    this.set.add(fn);
    return () => this.set.delete(fn);
  }
  emit(value: T): void {
    for (const fn of [...this.set]) {
      try {
        fn(value);
      } catch (err) {
        console.error('listener failed', err);
      }
    }
  }
}
