import { z } from 'zod';
import { requiredTextSchema, textSchema } from './text';

/** A postal address, the one shape for return addresses and shipping sites (Azure's field names). */
export const PostalAddressSchema = z
  .object({
    recipientName: requiredTextSchema(100, 'recipientName'),
    streetAddress1: requiredTextSchema(100, 'streetAddress1'),
    streetAddress2: textSchema(100, 'streetAddress2').optional(),
    streetAddress3: textSchema(100, 'streetAddress3').optional(),
    city: requiredTextSchema(60, 'city'),
    stateOrProvince: textSchema(60, 'stateOrProvince').optional(),
    postalCode: requiredTextSchema(20, 'postalCode'),
    countryOrRegion: requiredTextSchema(60, 'countryOrRegion'),
    phone: z.string().regex(/^\+?[0-9 ()./-]{5,25}$/, 'a phone number').optional(),
    additionalShippingInformation: textSchema(500, 'additionalShippingInformation').optional(),
  })
  .strict();
export type PostalAddress = z.infer<typeof PostalAddressSchema>;

/** Where Azure sends the drives back: a postal address with a reachable contact. */
export const ReturnAddressSchema = PostalAddressSchema.omit({ additionalShippingInformation: true, streetAddress3: true })
  .extend({
    phone: z.string().regex(/^\+?[0-9 ()./-]{5,25}$/, 'a phone number'),
    email: z.email('an email address').max(254),
  })
  .strict();
export type ReturnAddress = z.infer<typeof ReturnAddressSchema>;

/** The return carrier and the account Azure bills the return shipment to. */
export const ReturnShippingSchema = z
  .object({
    carrierName: requiredTextSchema(50, 'carrierName'),
    carrierAccountNumber: z.string().regex(/^[A-Za-z0-9-]{1,40}$/, 'a carrier account number (letters, digits, hyphens; up to 40)'),
  })
  .strict();
export type ReturnShipping = z.infer<typeof ReturnShippingSchema>;

type AddressLike = Partial<Record<keyof PostalAddress, string | undefined>>;

/** The address as lines (for labels and cards), or as one line joined with ", ". */
export function formatAddress(address: AddressLike, opts: { oneLine?: boolean } = {}): string {
  const cityLine = [address.city, address.stateOrProvince, address.postalCode].filter(Boolean).join(' ');
  const lines = [
    address.recipientName,
    address.streetAddress1,
    address.streetAddress2,
    address.streetAddress3,
    cityLine,
    address.countryOrRegion,
    address.phone ? `Phone: ${address.phone}` : undefined,
  ].filter((l): l is string => typeof l === 'string' && l.trim() !== '');
  return lines.join(opts.oneLine ? ', ' : '\n');
}
