// Submits a task over Switchboard's SockJS event-bus bridge and prints its result event.
//
//   SWITCHBOARD_TOKEN=$(java -jar switchboard.jar token --sub node-example) \
//     node submit.js http://127.0.0.1:18789/eventbus "Say hello" [model]
//
// Prints the finished task's event as one JSON line, e.g. {"id":"...","status":"succeeded","result":"..."};
// exits 1 on a refusal (err frame), a failed task, or no result within SWITCHBOARD_WAIT_SECONDS (default 120).
const EventBus = require('@vertx/eventbus-bridge-client.js');

const [url = 'http://127.0.0.1:18789/eventbus', input = 'Say hello', model] = process.argv.slice(2);
const token = process.env.SWITCHBOARD_TOKEN;
if (!token) {
  console.error('set SWITCHBOARD_TOKEN to a token the gateway accepts (java -jar switchboard.jar token --sub <name>)');
  process.exit(2);
}
const waitSeconds = Number(process.env.SWITCHBOARD_WAIT_SECONDS || 120);

const eb = new EventBus(url);
// every frame carries the token: the bridge checks each one
eb.defaultHeaders = { authorization: 'Bearer ' + token };
eb.enableReconnect(false);

let taskId = null;
const early = new Map(); // events that may arrive before the submit's reply names the task

function finish(code, line) {
  console.log(JSON.stringify(line));
  clearTimeout(timer);
  eb.close();
  process.exit(code);
}

const timer = setTimeout(() => finish(1, { error: 'no result event within ' + waitSeconds + 's', id: taskId }), waitSeconds * 1000);

function onEvent(event) {
  if (event.status === 'succeeded' || event.status === 'failed') {
    finish(event.status === 'succeeded' ? 0 : 1, event);
  }
}

eb.onerror = (err) => finish(1, { error: err && err.body ? err.body : String(err && err.message || err) });

eb.onopen = () => {
  // register before submitting, so that no event of the task can be missed
  eb.registerHandler('switchboard.tasks.events', (err, msg) => {
    if (err) {
      return finish(1, { error: err.message || err.body || String(err) });
    }
    const event = msg.body;
    if (taskId === null) {
      early.set(event.id, event);
    } else if (event.id === taskId) {
      onEvent(event);
    }
  });
  const task = { input };
  if (model) {
    task.model = model;
  }
  eb.send('switchboard.tasks.submit', task, (err, reply) => {
    if (err) {
      // failureCode is the HTTP API's status; message is its {"error": {...}} body
      return finish(1, { error: err.message, status: err.failureCode });
    }
    taskId = reply.body.id;
    console.error('task ' + taskId + ' ' + reply.body.status);
    if (early.has(taskId)) {
      onEvent(early.get(taskId));
    }
  });
};
