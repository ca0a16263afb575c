import { createDependencies } from '#shared/app/dependencies';
import { createBillsHandler } from '#shared/app/handlers';
import { loadSettings } from '#shared/config/settings';

export const handler = createBillsHandler(createDependencies(loadSettings(process.env)));
