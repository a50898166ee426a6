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
            '200': { description: 'Node status: ok, or degraded with exactly threshold members reachable (answers still sign)', content: { 'application/json': { schema: { $ref: '#/components/schemas/Status' } } } },
            '503': { description: 'Not answering: starting, down (fewer than threshold members reachable), or degraded for a reason in `reasons`', content: { 'application/json': { schema: { $ref: '#/components/schemas/Status' } } } },
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
      '/v1/infer/batch': {
        post: {
          summary: 'Run many rows of one model as a batch job over the range protocol; results stream back as each range is certified',
          description:
            'Rows are proposed as ranges (batch.rangeRows each) on a stream of this node; every committee member runs them, signs one Merkle root per range, and the aggregators certify it. ' +
            'With `Accept: application/x-ndjson` the response is a stream: a `job` line, one `result` line per row (or one `failed` line per failed range), then a `done` line. Otherwise 202 with the job.',
          parameters: [
            { name: 'accept', in: 'header', required: false, schema: { type: 'string', enum: ['application/x-ndjson', 'application/json'] } },
            { name: 'lines', in: 'query', required: false, schema: { enum: ['results', 'ranges'] }, description: "NDJSON: one line per result (default) or one line per certified range with all its reports ('ranges')" },
          ],
          requestBody: {
            required: true,
            content: {
              'application/json': {
                schema: {
                  type: 'object',
                  required: ['model', 'rows'],
                  additionalProperties: false,
                  properties: {
                    model: { type: 'string', minLength: 1, maxLength: 128 },
                    rows: { type: 'array', minItems: 1, items: { oneOf: [hex, { type: 'array', items: { type: 'number' } }] }, description: 'Canonical rows as hex (one length), or numbers for the model input encoder' },
                  },
                },
              },
              'application/octet-stream': {
                schema: { type: 'string', format: 'binary', description: 'magic "DRB1" ‖ u8 name length m ‖ model name (m bytes UTF-8) ‖ u32 row length L ‖ u32 row count N ‖ N·L bytes of rows; big-endian, exactly 13+m+N·L bytes (docs/api.md)' },
              },
            },
          },
          responses: {
            '200': { description: 'NDJSON stream (Accept: application/x-ndjson)', content: { 'application/x-ndjson': { schema: { oneOf: [{ $ref: '#/components/schemas/BatchResult' }, { type: 'object', required: ['type'], properties: { type: { enum: ['job', 'failed', 'done'] } } }] } } } },
            '202': { description: 'Job created', content: { 'application/json': { schema: { $ref: '#/components/schemas/Job' } } } },
            '400': errorResponse('Malformed body (BAD_BODY, BAD_JSON, BAD_REQUEST naming the field), UNKNOWN_MODEL, BAD_ROW_LENGTH, or a row the model refuses (INFERENCE_INPUT with `row`)'),
            '413': errorResponse('Body over batch.maxBodyBytes (BODY_TOO_LARGE) or more rows than batch.maxRowsPerJob (TOO_MANY_ROWS)'),
            '415': errorResponse('Content type other than application/json or application/octet-stream'),
            '429': errorResponse('This client (remote address) already runs batch.maxJobsPerClient jobs (TOO_MANY_JOBS)'),
            '503': errorResponse('No key share yet (NO_KEY_SHARE), node at batch.maxJobs (BUSY), or no batch service (BATCH_UNAVAILABLE)'),
          },
        },
      },
      '/v1/jobs/{id}': {
        get: {
          summary: 'A batch job taken by this node: status, ranges and a page of results (or its NDJSON stream with Accept: application/x-ndjson)',
          parameters: [
            { name: 'id', in: 'path', required: true, schema: { type: 'string', pattern: '^0x[0-9a-fA-F]{32}$' } },
            { name: 'offset', in: 'query', required: false, schema: { type: 'integer', minimum: 0 } },
            { name: 'limit', in: 'query', required: false, schema: { type: 'integer', minimum: 0, maximum: 1000 } },
            { name: 'lines', in: 'query', required: false, schema: { enum: ['results', 'ranges'] } },
          ],
          responses: {
            '200': { description: 'Job with results rows offset..offset+limit-1', content: { 'application/json': { schema: { $ref: '#/components/schemas/Job' } }, 'application/x-ndjson': { schema: { $ref: '#/components/schemas/BatchResult' } } } },
            '400': errorResponse('Malformed id, offset or limit'),
            '404': errorResponse('No such job here (jobs live on the node that took them, until batch.jobRetentionMs after they finish)'),
          },
        },
      },
      '/v1/ranges/{rangeId}/{i}': {
        get: {
          summary: 'Any certified batch result this member keeps: leaf i of range rangeId, with proof, root signature and the epoch group key',
          parameters: [
            { name: 'rangeId', in: 'path', required: true, schema: { type: 'string', pattern: '^0x[0-9a-fA-F]{64}$' } },
            { name: 'i', in: 'path', required: true, schema: { type: 'integer', minimum: 0 } },
          ],
          responses: {
            '200': { description: 'Signed result', content: { 'application/json': { schema: { $ref: '#/components/schemas/BatchResult' } } } },
            '400': errorResponse('Malformed range id or leaf index'),
            '404': errorResponse('Range not certified here or no longer kept (batch.keepReports)'),
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
      '/v1/feeds': {
        get: {
          summary: 'Feeds defined on chain (FeedRegistry) this node follows: window, timed feeds (heartbeat, deviation, destinations), block feeds (next block) and commit counters',
          responses: {
            '200': { description: 'Feeds', content: { 'application/json': { schema: { type: 'object' } } } },
            '404': errorResponse('This node runs no on-chain feeds (NO_FEEDS: needs control.feedRegistry)'),
          },
        },
      },
      '/v1/feeds/blocks/{number}/tx/{hash}': {
        get: {
          summary: "A transaction's score from a block feed: its report (a leaf of the block's tree), the Merkle proof, the block root, the committee's signature and the epoch group key",
          description: "The report's inputHash is keccak256(uint64 block ‖ blockHash ‖ txHash ‖ input): check it with `input`, the proof against `root`, and the signature over 0x01 ‖ root (or call BlockScores.verifyTxScore once the root is on chain). `signature` is null until the committee certified the root.",
          parameters: [
            { name: 'number', in: 'path', required: true, schema: { type: 'string', pattern: '^[0-9]{1,19}$' } },
            { name: 'hash', in: 'path', required: true, schema: { type: 'string', pattern: '^0x[0-9a-fA-F]{64}$' } },
            { name: 'feed', in: 'query', required: false, schema: { type: 'string', maxLength: 80 }, description: 'Block feed name or id (default: any block feed that scored the block)' },
          ],
          responses: {
            '200': {
              description: 'Scored transaction with proof',
              content: {
                'application/json': {
                  schema: {
                    type: 'object',
                    required: ['feed', 'block', 'blockHash', 'txHash', 'txIndex', 'input', 'report', 'proof', 'root', 'epoch', 'signature', 'signers', 'score', 'certified', 'groupKey'],
                    properties: {
                      feed: { type: 'object', properties: { id: hex, name: { type: 'string' } } }, block: { type: 'string' }, blockHash: hex, txHash: hex, txIndex: { type: 'integer' },
                      input: hex, report: hex, proof: { type: 'array', items: hex }, root: hex, epoch: { type: 'integer' }, signature: { oneOf: [hex, { type: 'null' }] },
                      signers: { type: 'array', items: { type: 'integer' } }, score: { type: 'array', items: { type: 'string' } }, certified: { type: 'boolean' }, groupKey: { oneOf: [hex, { type: 'null' }] },
                    },
                  },
                },
              },
            },
            '400': errorResponse('Malformed block number (BAD_BLOCK), transaction hash (BAD_TX_HASH) or feed (BAD_FEED)'),
            '404': errorResponse('Not scored here (NOT_FOUND), or no on-chain feeds on this node (NO_FEEDS)'),
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
      '/v1/history': {
        get: { summary: 'Chart history: samples every 5 s (rounds combined per kind, latency p50/p99 ms, verified results), oldest first, one hour kept', responses: { '200': { description: 'History', content: { 'application/json': { schema: { type: 'object', properties: { intervalMs: { type: 'integer' }, capacity: { type: 'integer' }, samples: { type: 'array', items: { type: 'object' } } } } } } } } },
      },
      '/assets/{file}': {
        get: {
          summary: "The dashboard's script and style and uPlot (dashboard.js, dashboard.css, uplot.js, uplot.css)",
          parameters: [{ name: 'file', in: 'path', required: true, schema: { type: 'string' } }],
          responses: { '200': { description: 'The file' }, '404': { description: 'No such asset' } },
        },
      },
    },
    components: {
      schemas: {
        Error: error,
        Status: { type: 'object', required: ['status', 'epoch', 'index'], properties: {
            status: { enum: ['ok', 'starting', 'degraded', 'down'], description: 'degraded with exactly threshold members reachable (HTTP 200) or for a reason in `reasons` (503); down below threshold (503)' },
            epoch: { type: 'integer' },
            index: { type: 'integer' },
            models: {
              type: 'object',
              description: "This node's hardware family, the models it serves (exactness, family) and the models its self-check refused, with the reason (docs/determinism.md)",
              properties: { family: { type: 'string' }, served: { type: 'array', items: { type: 'object' } }, refused: { type: 'array', items: { type: 'object' } } },
            },
          } },
        BatchResult: {
          type: 'object',
          required: ['type', 'stream', 'seq', 'rangeId', 'leaf', 'report', 'proof', 'root', 'signature', 'signatureEip2537', 'signers', 'epoch'],
          properties: {
            type: { const: 'result' },
            row: { type: 'integer', description: 'Row of the job (in job streams and pages)' },
            stream: { ...hex, description: "The range's stream: keccak256(jobStream ‖ keccak256(the range's rows))" },
            seq: { type: 'integer', description: 'Sequence number on the range stream (the row of the job); the report id is keccak256(stream ‖ uint64 seq)' },
            rangeId: hex,
            leaf: { type: 'integer', description: 'Leaf index within the range' },
            report: hex,
            proof: { type: 'array', items: hex },
            root: hex,
            signature: { ...hex, description: 'compressed G1 (48 bytes) over 0x01 ‖ root' },
            signatureEip2537: { ...hex, description: 'EIP-2537 G1 encoding (128 bytes)' },
            signers: { type: 'array', items: { type: 'integer' } },
            epoch: { type: 'integer' },
            groupKey: { ...hex, description: 'GET /v1/ranges only: the epoch group key, compressed G2' },
            groupKeyEip2537: hex,
          },
        },
        Job: {
          type: 'object',
          required: ['id', 'model', 'status', 'rows', 'certified', 'failed', 'pending', 'stream', 'ranges'],
          properties: {
            id: { type: 'string', pattern: '^0x[0-9a-fA-F]{32}$' },
            model: { type: 'string' },
            status: { enum: ['running', 'done'] },
            rows: { type: 'integer' },
            certified: { type: 'integer' },
            failed: { type: 'integer' },
            pending: { type: 'integer' },
            stream: { ...hex, description: 'jobStream(domain, proposer operator key, job id)' },
            ranges: { type: 'array', items: { type: 'object' } },
            results: { type: 'array', items: { oneOf: [{ $ref: '#/components/schemas/BatchResult' }, { type: 'object', required: ['type', 'row'], properties: { type: { enum: ['pending', 'failed'] }, row: { type: 'integer' }, error: { type: 'string' } } }] } },
            nextOffset: { type: ['integer', 'null'] },
          },
        },
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
