// The official TypeScript SDK's client (a 2025-era client) calling server-everything through mcpctl.
// Usage: node sdk_client.mjs URL TAG [STEP,...] (steps: sampling, elicitation, roots, progress, logging;
// all by default). Every callback answers with TAG and records what reached it; prints one JSON
// object: the tool results' texts and what each callback saw.
import { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { StreamableHTTPClientTransport } from "@modelcontextprotocol/sdk/client/streamableHttp.js";
import {
  CreateMessageRequestSchema,
  ElicitRequestSchema,
  ListRootsRequestSchema,
  LoggingMessageNotificationSchema,
} from "@modelcontextprotocol/sdk/types.js";

const [url, tag, steps = "sampling,elicitation,roots,progress,logging"] = process.argv.slice(2);
const seen = { sampled: [], elicited: [], rootsAsked: 0, logs: [], progress: [] };
const client = new Client(
  { name: `sdk-${tag}`, version: "1.0.0" },
  { capabilities: { sampling: {}, elicitation: { form: {} }, roots: { listChanged: true } } },
);
client.setRequestHandler(CreateMessageRequestSchema, async (request) => {
  seen.sampled.push(request.params.messages[0].content.text);
  return { role: "assistant", content: { type: "text", text: `answer for ${tag}` }, model: "test-model" };
});
client.setRequestHandler(ElicitRequestSchema, async (request) => {
  seen.elicited.push(request.params.message);
  return { action: "accept", content: { name: tag, check: true } };
});
client.setRequestHandler(ListRootsRequestSchema, async () => {
  seen.rootsAsked += 1;
  return { roots: [{ uri: `file:///work/${tag}`, name: tag }] };
});
client.setNotificationHandler(LoggingMessageNotificationSchema, async (notification) => {
  seen.logs.push(notification.params.data);
});

const text = (result) => result.content.map((c) => c.text ?? "").join("\n");
await client.connect(new StreamableHTTPClientTransport(new URL(url)));
await client.setLoggingLevel("debug");
const results = {};
const call = async (name, args, options) =>
  text(await client.callTool({ name, arguments: args }, undefined, options));
for (const step of steps.split(",")) {
  if (step === "sampling") {
    const args = { prompt: `question from ${tag}`, maxTokens: 10 };
    results.sampling = await call("trigger-sampling-request", args);
  } else if (step === "elicitation") {
    results.elicitation = await call("trigger-elicitation-request", {});
  } else if (step === "roots") {
    results.roots = await call("get-roots-list", {});
  } else if (step === "progress") {
    const onprogress = (progress) => seen.progress.push(progress.progress);
    results.progress = await call("trigger-long-running-operation", { duration: 0.4, steps: 2 }, { onprogress });
  } else if (step === "logging") {
    results.logging = await call("toggle-simulated-logging", {});
    await call("toggle-simulated-logging", {}); // and off again
  } else {
    throw new Error(`unknown step ${step}`);
  }
}
await client.close();
console.log(JSON.stringify({ version: client.getServerVersion(), results, seen }));
