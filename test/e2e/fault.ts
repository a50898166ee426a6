// TEST FAULT INJECTION ONLY: wraps a node's inference so that node reports a wrong output (first value
// + 1). Used by the e2e tests to check that the committee still answers correctly and names the node.
import type { Inferencer } from '@destra/oracle-node';

export function testFaultWrongOutput(inner: Inferencer): Inferencer {
  return {
    validate: (model, input) => inner.validate(model, input),
    modelHash: (model) => inner.modelHash(model),
    async infer(model, input) {
      const r = await inner.infer(model, input);
      return { ...r, output: r.output.map((v, i) => (i === 0 ? v + 1n : v)) };
    },
  };
}

