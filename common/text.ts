import { z } from 'zod';

/**
 * Free text that ends up on labels, in Azure requests and in terminals: bounded, and without control or
 * bidirectional-override characters (they garble packing slips and can disguise what a clerk reads).
 */
const UNSAFE_CHARACTERS = /[\u0000-\u001f\u007f-\u009f\u200b-\u200f\u202a-\u202e\u2066-\u2069\ufeff]/u;

export function textSchema(max: number, what = 'text') {
  return z
    .string()
    .max(max, `${what} has at most ${max} characters`)
    .refine((s) => !UNSAFE_CHARACTERS.test(s), `${what} must not contain control or bidirectional formatting characters`);
}

export function requiredTextSchema(max: number, what = 'text') {
  return textSchema(max, what).refine((s) => s.trim().length > 0, `${what} must not be empty`);
}
