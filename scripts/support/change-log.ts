import type { DynamoDBRecord } from 'aws-lambda';
import { classify } from '#commons/stream-change';

/**
 * A stream consumer for a terminal: prints the first `maxLines` change events compactly
 * (`MODIFY licenses NPN 1234567 #20001 updated`) and counts every one, per record type.
 */
export class ChangeLog {
  readonly byType = new Map<string, number>();
  delivered = 0;

  constructor(
    private readonly print: (line: string) => void,
    private readonly maxLines = 12,
  ) {}

  add(records: DynamoDBRecord[]): void {
    for (const record of records) {
      const change = classify(record);
      const type = change.recordType ?? 'other';
      this.byType.set(type, (this.byType.get(type) ?? 0) + 1);
      this.delivered++;
      if (this.delivered <= this.maxLines) {
        const id = change.sk.split('#')[1] ?? change.sk;
        this.print(`stream: ${change.eventName.padEnd(6)} ${type} NPN ${change.npn ?? '?'} #${id} ${change.kind}`);
      }
    }
  }

  /** "... and N more" for what was counted but not printed. */
  remainder(): string | undefined {
    const hidden = this.delivered - this.maxLines;
    return hidden > 0 ? `stream: ... and ${hidden.toLocaleString('en-US')} more change records` : undefined;
  }
}
