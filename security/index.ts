/** Secrets stay secret: config, payload encryption, secret stores, redaction. */
export * from './config';
export * from './keys';
export * from './payload-codec';
export * from './redact';
export * from './secret-store';
