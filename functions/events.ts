import { createDependencies } from '#shared/app/dependencies';
import { createEventsHandler } from '#shared/app/handlers';
import { loadSettings } from '#shared/config/settings';

export const handler = createEventsHandler(createDependencies(loadSettings(process.env)));
