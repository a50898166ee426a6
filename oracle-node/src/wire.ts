// Wire schemas, re-exported in one place for the node. They live in @destra/protocol (protocol/src/wire);
// this shim imports them by path while protocol/src/index.ts does not yet re-export them.
export * from '../../protocol/src/wire/index.ts';
