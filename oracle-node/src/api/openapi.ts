// OpenAPI 3.1 description of the node API. Kept next to the routes; a test checks both list the same paths.
const hex = { type: 'string', pattern: '^0x([0-9a-fA-F]{2})*$' } as const;
const error = { type: 'object', required: ['error', 'message'], properties: { error: { type: 'string' }, message: { type: 'string' } } } as const;
const errorResponse = (description: string) => ({ description, content: { 'application/json': { schema: { $ref: '#/components/schemas/Error' } } } });

export function openApiDocument(version = '0.1.0'): Record<string, unknown> {
  return {
    openapi: '3.1.0',
    info: {
      title: 'destra oracle node API',
      version,
      description: 'On-demand threshold-signed inference, stored reports, committee state and metrics of one destra oracle node.',
    },
    servers: [{ url: 'http://127.0.0.1' }],
    paths: {
      '/': { get: { summary: 'Dashboard (HTML)', responses: { '200': { description: 'Dashboard page', content: { 'text/html': { schema: { type: 'string' } } } } } } },
      '/health': {
        get: {
          summary: 'Liveness and readiness',
          responses: {
            '200': { description: 'Node status', content: { 'application/json': { schema: { $ref: '#/components/schemas/Status' } } } },
          },
        },
      },
      '/metrics': { get: { summary: 'Prometheus metrics', responses: { '200': { description: 'Prometheus text format', content: { 'text/plain': { schema: { type: 'string' } } } } } } },
      '/openapi.json': { get: { summary: 'This document', responses: { '200': { description: 'OpenAPI 3.1 document', content: { 'application/json': { schema: { type: 'object' } } } } } } },
      '/v1/infer': {
        post: {
          summary: 'Run a model on the committee and wait for the threshold-signed report',
          requestBody: {
            required: true,
            content: {
              'application/json': {
                schema: {
                  type: 'object',
                  required: ['model', 'input'],
                  additionalProperties: false,
                  properties: {
                    model: { type: 'string', minLength: 1, maxLength: 128 },
                    input: { oneOf: [hex, { type: 'array', items: { type: 'number' }, maxItems: 1048576 }], description: 'Canonical input bytes as hex, or numbers the model encodes into its canonical input' },
                  },
                },
              },
            },
          },
          responses: {
            '200': { description: 'Signed report', content: { 'application/json': { schema: { $ref: '#/components/schemas/Report' } } } },
            '400': errorResponse('Malformed request, unknown model (UNKNOWN_MODEL) or input the model refuses (INFERENCE_INPUT); nothing was stored or sent'),
            '413': errorResponse('Body too large'),
            '503': errorResponse('No key share yet (DKG running)'),
            '504': {
              description: 'No threshold signature in time; the round may still complete: fetch GET /v1/reports/{requestId} later',
              content: { 'application/json': { schema: { allOf: [{ $ref: '#/components/schemas/Error' }, { type: 'object', required: ['requestId'], properties: { requestId: { type: 'string', pattern: '^0x[0-9a-fA-F]{64}$' } } }] } } },
            },
          },
        },
      },
      '/v1/reports/{id}': {
        get: {
          summary: 'A threshold-signed report by request id (latest round)',
          parameters: [{ name: 'id', in: 'path', required: true, schema: { type: 'string', pattern: '^0x[0-9a-fA-F]{64}$' } }],
          responses: {
            '200': { description: 'Signed report', content: { 'application/json': { schema: { $ref: '#/components/schemas/Report' } } } },
            '400': errorResponse('Malformed id'),
            '404': errorResponse('Unknown id'),
          },
        },
      },
      '/v1/committee': {
        get: { summary: 'Committee, epoch, group key and per-member partial validity', responses: { '200': { description: 'Committee', content: { 'application/json': { schema: { type: 'object' } } } } } },
      },
      '/v1/epochs': {
        get: {
          summary: 'Chain-driven epochs: the chain epoch, this node\'s DKG (epoch, attempt, phase), its DKG result for the next epoch and the signed handovers it saw',
          responses: {
            '200': { description: 'Epochs', content: { 'application/json': { schema: { type: 'object' } } } },
            '404': { description: 'This node has a fixed committee (code NO_EPOCHS)', content: { 'application/json': { schema: { type: 'object' } } } },
          },
        },
      },
      '/v1/rounds': {
        get: {
          summary: 'Recent rounds with latency and signers',
          parameters: [{ name: 'limit', in: 'query', required: false, schema: { type: 'integer', minimum: 1, maximum: 500 } }],
          responses: { '200': { description: 'Rounds', content: { 'application/json': { schema: { type: 'array', items: { type: 'object' } } } } } },
        },
      },
      '/v1/dashboard': {
        get: { summary: 'Everything the dashboard shows, in one poll', responses: { '200': { description: 'Dashboard data', content: { 'application/json': { schema: { type: 'object' } } } } } },
      },
    },
    components: {
      schemas: {
        Error: error,
        Status: { type: 'object', required: ['status', 'epoch', 'index'], properties: { status: { enum: ['ok', 'starting', 'degraded'] }, epoch: { type: 'integer' }, index: { type: 'integer' } } },
        Report: {
          type: 'object',
          required: ['requestId', 'report', 'signature', 'signatureEip2537', 'root', 'proof', 'epoch', 'groupKey'],
          properties: {
            requestId: hex,
            round: { type: 'integer' },
            epoch: { type: 'integer' },
            report: hex,
            signature: { ...hex, description: 'compressed G1 (48 bytes)' },
            signatureEip2537: { ...hex, description: 'EIP-2537 G1 encoding (128 bytes)' },
            root: hex,
            proof: { type: 'array', items: hex },
            groupKey: { ...hex, description: 'compressed G2 (96 bytes)' },
            groupKeyEip2537: hex,
            signers: { type: 'array', items: { type: 'integer' } },
          },
        },
      },
    },
  };
}
