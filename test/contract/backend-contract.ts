// The contract every Backend implementation passes (modelled on aedes-persistence's abstract
// suite). A backend test file calls backendContract() with a factory; tests use unique ids so
// they can share one store without cleanup between them.
//
//   backendContract('memory', async () => createMemoryBackend());
//   backendContract('redis', makeRedis, cleanup, { makePeer: makeRedis }); // two nodes, one redis-server
import { afterAll, beforeAll, describe } from 'vitest';
import type { Backend } from '../../src/store/types.js';
import { sharedBusContract } from './contract-bus-shared.js';
import { TakeoverLog, type ContractFixture } from './contract-helpers.js';
import { ownershipContract } from './contract-ownership.js';
import { retainedContract } from './contract-retained.js';
import { sessionContract } from './contract-session.js';

export interface BackendContractOptions {
  /**
   * A second backend on the same shared state (another node). Given, ownership and flush
   * tests run across the two nodes; omitted (single-node backends), both roles use one backend.
   */
  makePeer?: () => Promise<Backend>;
}

export function backendContract(name: string, makeBackend: () => Promise<Backend>, cleanup?: () => Promise<void>, options: BackendContractOptions = {}): void {
  describe(`backend contract: ${name}`, () => {
    let fixture: ContractFixture | undefined;
    const fx = (): ContractFixture => {
      if (fixture === undefined) throw new Error('backend not created');
      return fixture;
    };

    beforeAll(async () => {
      const a = await makeBackend();
      const b = options.makePeer ? await options.makePeer() : a;
      const takeoversA = new TakeoverLog(a);
      fixture = { a, b, crossNode: b !== a, takeoversA, takeoversB: b === a ? takeoversA : new TakeoverLog(b) };
    });

    afterAll(async () => {
      if (fixture !== undefined) {
        await fixture.a.close();
        if (fixture.crossNode) await fixture.b.close();
      }
      await cleanup?.();
    });

    // Known when the tests are registered: a backend with a peer gets the cross-node tests, a
    // single-node backend tests of its own semantics instead (no test returns early on either).
    const crossNode = options.makePeer !== undefined;
    sessionContract(fx);
    retainedContract(fx);
    ownershipContract(fx, crossNode);
    sharedBusContract(fx, crossNode);
  });
}
