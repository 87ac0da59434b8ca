/** A backup's bytes are not a well-formed Avro file within the reader's bounds; the message says how. */
export class AvroFormatError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'AvroFormatError';
  }
}
