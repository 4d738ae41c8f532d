import { containerRuntimeContract } from '../agent/container-runtime.contract.js';
import { FakeRuntime } from './fake-runtime.js';

const IMAGE = 'wharf-test/busybox:latest';

containerRuntimeContract('FakeRuntime', async () => ({ runtime: new FakeRuntime({ images: [IMAGE] }), image: IMAGE }));
