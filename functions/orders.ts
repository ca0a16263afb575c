import { createDependencies } from '#shared/app/dependencies';
import { createOrdersHandler } from '#shared/app/handlers';
import { loadSettings } from '#shared/config/settings';

export const handler = createOrdersHandler(createDependencies(loadSettings(process.env)));
