/** Decoding Temporal payloads with a client's own data converter (public SDK API only, no SDK internals). */
import type { LoadedDataConverter, Payload } from '@temporalio/common';

/** Codecs run in reverse order on the way out, then the payload converter; all public data-converter API. */
export async function decodePayloads(converter: LoadedDataConverter, payloads: Payload[]): Promise<unknown[]> {
  let decoded = payloads;
  for (const codec of [...converter.payloadCodecs].reverse()) decoded = await codec.decode(decoded);
  return decoded.map((p) => converter.payloadConverter.fromPayload(p));
}
