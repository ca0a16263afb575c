import { createDependencies } from '#shared/app/dependencies';
import { createSweepHandler } from '#shared/app/handlers';
import { loadSettings } from '#shared/config/settings';

export const handler = createSweepHandler(createDependencies(loadSettings(process.env)));
