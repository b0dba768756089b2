// Every workflow the worker registers.
export { importJobWorkflow } from './import-job';
