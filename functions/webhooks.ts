import { createDependencies } from '#shared/app/dependencies';
import { createWebhooksHandler } from '#shared/app/handlers';
import { loadSettings } from '#shared/config/settings';

export const handler = createWebhooksHandler(createDependencies(loadSettings(process.env)));
