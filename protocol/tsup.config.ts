import { packageBuild } from '../scripts/build/tsup-package.ts';

export default packageBuild({ index: 'src/index.ts' });
