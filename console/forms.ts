/** Form bodies as @fastify/formbody and @fastify/multipart leave them: a record of strings (and, for uploads, Buffers). */
import type { FastifyRequest } from 'fastify';

export type Form = Record<string, unknown>;

export const formOf = (req: FastifyRequest): Form => (req.body && typeof req.body === 'object' ? (req.body as Form) : {});

/** A text field, '' when absent or not text. */
export const field = (form: Form, name: string): string => {
  const v = form[name];
  return typeof v === 'string' ? v : '';
};
