// A bounded set of recently seen ids (insertion-ordered eviction), so a long-running watcher never
// re-emits a request it already handed out yet does not grow without limit.
export class RecentIds {
  private readonly ids = new Set<string>();
  constructor(readonly capacity: number) {}

  has(id: string): boolean {
    return this.ids.has(id.toLowerCase());
  }

  add(id: string): void {
    const key = id.toLowerCase();
    if (this.ids.has(key)) return;
    this.ids.add(key);
    if (this.ids.size > this.capacity) {
      const oldest = this.ids.values().next().value;
      if (oldest !== undefined) this.ids.delete(oldest);
    }
  }

  get size(): number {
    return this.ids.size;
  }
}
