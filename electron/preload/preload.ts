// The preload entry (bundled to dist/electron/preload.cjs; it runs sandboxed, so everything it needs
// is in that one file). It exposes exactly one object, `window.lattice`.
import { contextBridge, ipcRenderer } from 'electron';
import { createBridge } from './bridge';

contextBridge.exposeInMainWorld('lattice', createBridge(ipcRenderer));
