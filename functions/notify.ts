import { createDependencies } from '#shared/app/dependencies';
import { createNotifyHandler } from '#shared/app/handlers';
import { loadSettings } from '#shared/config/settings';

export const handler = createNotifyHandler(createDependencies(loadSettings(process.env)));
