import { ArmError } from '../errors';
import { validBody } from '../schemas';
import type { Store } from '../store';
import type { Region, RegionCatalogue } from './regions';
import {
  AvailableSkuRequestSchema,
  RegionConfigurationRequestSchema,
  SKU_NAMES,
  ValidateAddressSchema,
  ValidationRequestSchema,
  type SkuName,
  type ValidationInput,
} from './schemas';

const SUCCESS = { code: 'Success', target: 'KeyEncryptionKey', details: [], additionalInfo: [] };

/** The Service_* operations: which skus a region offers, its datacenter address, input validation. */
export class DataBoxService {
  constructor(
    private readonly store: Store,
    private readonly regions: RegionCatalogue,
  ) {}

  private region(name: string, field: string): Region {
    const r = this.regions.find(name);
    if (!r) throw ArmError.field(field, `'${name.slice(0, 100)}' is not a region the Data Box service serves`);
    return r;
  }

  private available(region: Region, sku: SkuName): boolean {
    return sku !== 'DataBoxCustomerDisk' || this.regions.customerDiskAvailable(region, this.store.databox.regionOverrides);
  }

  private unavailableMessage(region: Region, sku: SkuName): string {
    return `The sku '${sku}' is not available for storage accounts in region '${region.name}'.`;
  }

  availableSkus(location: string, raw: unknown): { value: unknown[] } {
    const region = this.region(location, 'location');
    const body = validBody(AvailableSkuRequestSchema, raw);
    const skus = body.skuNames ?? [...SKU_NAMES];
    const serving = this.regions.serving(region).name;
    return {
      value: skus.map((name) => {
        const enabled = this.available(region, name);
        return {
          sku: { name },
          enabled,
          properties: {
            dataLocationToServiceLocationMap: [{ dataLocation: region.name, serviceLocation: serving }],
            apiVersions: ['2022-12-01', '2025-02-01'],
            disabledReason: enabled ? 'None' : 'Region',
            ...(enabled ? {} : { disabledReasonMessage: this.unavailableMessage(region, name) }),
            countriesWithinCommerceBoundary: [region.country],
          },
        };
      }),
    };
  }

  regionConfiguration(location: string, raw: unknown): Record<string, unknown> {
    this.region(location, 'location');
    const body = validBody(RegionConfigurationRequestSchema, raw);
    if (Object.keys(body).length === 0) {
      throw ArmError.field('body', 'must ask for at least one of scheduleAvailabilityRequest, transportAvailabilityRequest, datacenterAddressRequest, deviceCapabilityRequest');
    }
    const out: Record<string, unknown> = {};
    if (body.scheduleAvailabilityRequest) {
      const start = this.store.now();
      const dates = Array.from({ length: 14 }, (_, i) => new Date(Date.UTC(start.getUTCFullYear(), start.getUTCMonth(), start.getUTCDate() + i + 1)).toISOString().replace('.000Z', '+00:00'));
      out.scheduleAvailabilityResponse = { availableDates: dates };
    }
    if (body.transportAvailabilityRequest) out.transportAvailabilityResponse = { transportAvailabilityDetails: [{ shipmentType: 'CustomerManaged' }, { shipmentType: 'MicrosoftManaged' }] };
    if (body.deviceCapabilityRequest) out.deviceCapabilityResponse = { deviceCapabilityDetails: [{ hardwareEncryption: 'Enabled' }] };
    const dc = body.datacenterAddressRequest;
    if (dc) {
      const region = this.region(dc.storageLocation, 'datacenterAddressRequest.storageLocation');
      if (!this.available(region, dc.skuName)) {
        throw new ArmError(400, 'SkuNotAvailable', `datacenterAddressRequest.skuName: ${this.unavailableMessage(region, dc.skuName)}`, 'datacenterAddressRequest.skuName');
      }
      out.datacenterAddressResponse = this.regions.datacenterAddress(region, this.store.databox.regionOverrides);
    }
    return out;
  }

  private validateOne(location: string, v: ValidationInput): Record<string, unknown> {
    if (v.validationType === 'ValidateSkuAvailability') {
      const region = this.regions.find(v.location ?? location);
      const sku = v.deviceType ?? 'DataBoxCustomerDisk';
      const ok = region !== undefined && this.available(region, sku);
      return {
        validationType: v.validationType,
        status: ok ? 'Valid' : 'Invalid',
        error: ok
          ? SUCCESS
          : { code: 'SkuNotAvailable', message: region ? this.unavailableMessage(region, sku) : `Unknown region '${v.location ?? location}'.`, target: 'ValidateSkuAvailability', details: [], additionalInfo: [] },
      };
    }
    if (v.validationType === 'ValidateAddress') {
      return { validationType: v.validationType, validationStatus: 'Valid', alternateAddresses: v.shippingAddress ? [{ ...v.shippingAddress }] : [], error: SUCCESS };
    }
    return { validationType: v.validationType, status: 'Valid', error: SUCCESS };
  }

  validateInputs(location: string, raw: unknown): Record<string, unknown> {
    this.region(location, 'location');
    const body = validBody(ValidationRequestSchema, raw);
    const items = body.individualRequestDetails.map((v) => this.validateOne(location, v));
    const allValid = items.every((i) => i.status === undefined || i.status === 'Valid');
    return { properties: { individualResponseDetails: items, status: allValid ? 'AllValidToProceed' : 'InputsRevisitRequired' } };
  }

  validateAddress(location: string, raw: unknown): Record<string, unknown> {
    this.region(location, 'location');
    const body = validBody(ValidateAddressSchema, raw);
    return { properties: { validationType: 'ValidateAddress', validationStatus: 'Valid', alternateAddresses: [{ ...body.shippingAddress }] } };
  }
}
