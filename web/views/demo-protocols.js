// The demo protocols shipped with the page (protocols/index.json): what each shows, its source,
// and how the schedule queues it (priority, parameters).
const BASE = new URL("../protocols/", import.meta.url);

// [{file, function, title, shows, schedule: {priority, parameters}}], in the order the page lists them.
export async function demoProtocols() {
  const response = await fetch(new URL("index.json", BASE));
  return (await response.json()).protocols;
}

export async function demoSource(entry) {
  const response = await fetch(new URL(entry.file, BASE));
  return response.text();
}
