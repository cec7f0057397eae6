// The in-memory backend is single-node: the contract runs without a peer.
import { createMemoryBackend } from '../../src/store/memory/index.js';
import { backendContract } from './backend-contract.js';

backendContract('memory', async () => createMemoryBackend());
