/**
 * Both adapters of the Azure port, built from one configuration: what a worker injects into the import-job
 * activities (`createImportJobActivities({ azure: createAzurePorts(config), ... })`).
 */
import type { AzureConfig } from './config';
import { createDataBoxPort, type DataBoxPortOptions } from './databox/adapter';
import { createImportExportPort } from './importexport';
import type { AzurePorts } from './port';

export function createAzurePorts(config: AzureConfig, options: DataBoxPortOptions = {}): AzurePorts {
  return { databox: createDataBoxPort(config, options), importexport: createImportExportPort(config, options) };
}
