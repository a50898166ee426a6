// Wire schemas live in @destra/protocol (protocol/src/wire). Imported by path while protocol/src/index.ts
// does not re-export them yet; switch to '@destra/protocol' once it does.
export * from '../../protocol/src/wire/index.ts';
