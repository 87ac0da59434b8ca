/** The app-wide setup, once for every function of the app. */
import { app } from '@azure/functions';
import { closeServices } from '../shared/services';

// Request bodies arrive as streams (a historical file can be gigabytes), on Azure as on the local host.
app.setup({ enableHttpStream: true });
// The database pool is closed when the worker shuts down gracefully, so connections end cleanly.
app.hook.appTerminate(() => closeServices());
