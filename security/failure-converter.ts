/**
 * Loaded by path (DataConverter.failureConverterPath) in clients, workers and INSIDE the workflow sandbox bundle, so
 * it must stay deterministic and import nothing but @temporalio/common.
 *
 * `encodeCommonAttributes: true` moves failure messages and stack traces into `Failure.encodedAttributes`, a Payload
 * that the payload codec (EncryptionCodec) encrypts; the plain `message` becomes "Encoded failure" and the stack trace
 * is emptied in history.
 */
import { DefaultFailureConverter, type FailureConverter } from '@temporalio/common';

export const failureConverter: FailureConverter = new DefaultFailureConverter({ encodeCommonAttributes: true });
