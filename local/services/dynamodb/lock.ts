/**
 * A readers-writer lock for the local DynamoDB: ordinary requests share it, a transaction holds it alone,
 * so no request sees a transaction half applied (DynamoDB's transactions are serializable with respect to
 * single-item reads and writes). A waiting transaction stops new requests from jumping ahead of it.
 */
export class ReadWriteLock {
  private readers = 0;
  private writing = false;
  private readonly waiting: Array<{ readonly exclusive: boolean; readonly grant: () => void }> = [];

  async shared<T>(work: () => Promise<T>): Promise<T> {
    await this.acquire(false);
    try {
      return await work();
    } finally {
      this.readers -= 1;
      this.drain();
    }
  }

  async exclusive<T>(work: () => Promise<T>): Promise<T> {
    await this.acquire(true);
    try {
      return await work();
    } finally {
      this.writing = false;
      this.drain();
    }
  }

  private acquire(exclusive: boolean): Promise<void> {
    if (this.waiting.length === 0 && !this.writing && (!exclusive || this.readers === 0)) {
      if (exclusive) this.writing = true;
      else this.readers += 1;
      return Promise.resolve();
    }
    return new Promise((grant) => this.waiting.push({ exclusive, grant }));
  }

  private drain(): void {
    while (this.waiting.length > 0 && !this.writing) {
      const next = this.waiting[0]!;
      if (next.exclusive) {
        if (this.readers > 0) return;
        this.writing = true;
      } else {
        this.readers += 1;
      }
      this.waiting.shift();
      next.grant();
    }
  }
}
