/**
 * A bounded log that keeps the newest entries, oldest first: the exchange log of every
 * edition. A limit of 0 keeps nothing.
 */
export class Ring<A> {
  private readonly ring: Array<A> = []
  /** Where the next entry goes once the ring is full (the oldest is overwritten). */
  private next = 0
  constructor(private readonly limit: number) {}
  push(entry: A): void {
    if (this.limit === 0) return
    if (this.ring.length < this.limit) {
      this.ring.push(entry)
      return
    }
    this.ring[this.next] = entry
    this.next = (this.next + 1) % this.limit
  }
  list(): ReadonlyArray<A> {
    return this.next === 0 ? this.ring.slice() : [...this.ring.slice(this.next), ...this.ring.slice(0, this.next)]
  }
}
