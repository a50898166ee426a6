import { copyFileSync, existsSync, mkdirSync, readFileSync } from 'node:fs';
import { packageBuild } from '../../scripts/build/tsup-package.ts';

// src/idl.ts reads the IDLs and programs from the repo's programs/ (../../../programs from src/). The
// package ships copies under its own programs/ (idl/ and, when built, target/deploy/*.so), so the bundle
// reads ../programs from dist/.
const IDL = ['destra_oracle', 'destra_consumer'];
const SO = ['destra_oracle.so', 'destra_consumer.so'];

export default packageBuild(
  { index: 'src/index.ts' },
  {
    esbuildPlugins: [
      {
        name: 'packaged-program-paths',
        setup(build) {
          build.onLoad({ filter: /adapters[\\/]solana[\\/]src[\\/]idl\.ts$/ }, (args) => {
            const source = readFileSync(args.path, 'utf8');
            if (!source.includes('../../../programs/')) throw new Error('src/idl.ts no longer reads ../../../programs/: update adapters/solana/tsup.config.ts');
            return { contents: source.replaceAll('../../../programs/', '../programs/'), loader: 'ts' };
          });
        },
      },
    ],
    onSuccess: async () => {
      mkdirSync('programs/idl', { recursive: true });
      for (const n of IDL) copyFileSync(`../../programs/idl/${n}.json`, `programs/idl/${n}.json`);
      mkdirSync('programs/target/deploy', { recursive: true });
      for (const f of SO) if (existsSync(`../../programs/target/deploy/${f}`)) copyFileSync(`../../programs/target/deploy/${f}`, `programs/target/deploy/${f}`);
    },
  },
);
