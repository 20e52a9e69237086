// Hex helpers for byte-vector tests: spaces are ignored so vectors can be grouped by field.
export function hex(text: string): Buffer {
  return Buffer.from(text.replace(/\s+/g, ''), 'hex');
}
