import { createDependencies } from '#shared/app/dependencies';
import { createReconcileHandler } from '#shared/app/handlers';
import { loadSettings } from '#shared/config/settings';

export const handler = createReconcileHandler(createDependencies(loadSettings(process.env)));
