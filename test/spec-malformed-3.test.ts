/** Part 3 of the generated malformed specs (see test/fixtures/specs/malformed-suite.ts). */
import { malformedSpecSuite } from './fixtures/specs/malformed-suite';

malformedSpecSuite(3, 4);
