// Runs every audit of graphql-http's serverAudits against the GraphQL endpoint given as the
// first argument and prints one JSON object per audit: { id, name, status, reason }.
// Exits with 0 whatever the results: the caller judges them.
import { serverAudits } from 'graphql-http';

const url = process.argv[2];
if (!url) {
  console.error('usage: node audit.mjs http://host:port/graphql');
  process.exit(2);
}

for (const audit of serverAudits({ url })) {
  let result;
  try {
    result = await audit.fn();
  } catch (error) {
    result = { status: 'error', reason: `the audit threw: ${error}` };
  }
  const reason = result.status === 'ok' ? undefined : result.reason;
  console.log(JSON.stringify({ id: audit.id, name: audit.name, status: result.status, reason }));
}
