/* The driver's phone app: shows today's trip from IndexedDB (downloaded when online), queues every action with a
   key made on the phone, and replays the queue in order to the server when the connection is back. Offline, an ID
   check uses the same age arithmetic as the server's rules on the date of birth typed or read from the barcode; the
   server checks again when the action reaches it and answers a refusal as a conflict. No framework, no build. */
(function () {
  "use strict";
  const body = document.body;
  if (!body || !body.hasAttribute("data-driver-app")) return;
  const URLS = { today: body.dataset.todayUrl, sync: body.dataset.syncUrl, sw: body.dataset.swUrl };
  const USER = body.dataset.user;
  const DB_NAME = "canopy-driver-" + USER;
  const REASONS = {
    refused: "Customer refused",
    no_id: "No valid ID",
    nobody_home: "Nobody home",
    under_age: "Under age",
    cancelled: "Order cancelled by the store",
  };
  let data = { trips: [] };
  let queueCount = 0;
  let syncing = false;

  // --- IndexedDB: trips (the downloaded data with the phone's changes), queue (actions in order), meta ---------
  function openDb() {
    return new Promise((resolve, reject) => {
      const request = indexedDB.open(DB_NAME, 1);
      request.onupgradeneeded = () => {
        const db = request.result;
        db.createObjectStore("meta");
        db.createObjectStore("queue", { keyPath: "seq", autoIncrement: true });
      };
      request.onsuccess = () => resolve(request.result);
      request.onerror = () => reject(request.error);
    });
  }
  const dbReady = openDb();
  function tx(store, mode, fn) {
    return dbReady.then(
      (db) =>
        new Promise((resolve, reject) => {
          const t = db.transaction(store, mode);
          let result;
          Promise.resolve(fn(t.objectStore(store))).then((r) => (result = r));
          t.oncomplete = () => resolve(result);
          t.onerror = () => reject(t.error);
        })
    );
  }
  const req = (r) => new Promise((resolve, reject) => { r.onsuccess = () => resolve(r.result); r.onerror = () => reject(r.error); });
  const metaGet = (key) => tx("meta", "readonly", (s) => req(s.get(key)));
  const metaSet = (key, value) => tx("meta", "readwrite", (s) => s.put(value, key));
  const queueAll = () => tx("queue", "readonly", (s) => req(s.getAll()));
  const queueAdd = (item) => tx("queue", "readwrite", (s) => s.add(item));
  const queueDelete = (seq) => tx("queue", "readwrite", (s) => s.delete(seq));
  const queuePut = (item) => tx("queue", "readwrite", (s) => s.put(item));

  // --- Helpers -------------------------------------------------------------------------------------------------
  function uuid() {
    if (crypto.randomUUID) return crypto.randomUUID();
    const b = crypto.getRandomValues(new Uint8Array(16));
    b[6] = (b[6] & 0x0f) | 0x40; b[8] = (b[8] & 0x3f) | 0x80;
    const h = Array.from(b, (x) => x.toString(16).padStart(2, "0")).join("");
    return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20)}`;
  }
  function el(tag, attrs, ...children) {
    const node = document.createElement(tag);
    for (const [k, v] of Object.entries(attrs || {})) {
      if (v === null || v === undefined || v === false) continue;
      if (k === "text") node.textContent = v;
      else if (k.startsWith("on")) node.addEventListener(k.slice(2), v);
      else node.setAttribute(k, v === true ? "" : v);
    }
    for (const child of children.flat()) if (child) node.append(child);
    return node;
  }
  function findStop(stopId) {
    for (const trip of data.trips) for (const stop of trip.stops) if (stop.id === stopId) return [trip, stop];
    return [null, null];
  }
  function localIso(date) {
    const d = date || new Date();
    return `${d.getFullYear()}-${String(d.getMonth() + 1).padStart(2, "0")}-${String(d.getDate()).padStart(2, "0")}`;
  }
  // Same arithmetic as the server's id_check: whole years on the day, valid through its expiry date.
  function ageOn(born, today) {
    const [by, bm, bd] = born.split("-").map(Number);
    const [ty, tm, td] = today.split("-").map(Number);
    return ty - by - (tm < bm || (tm === bm && td < bd) ? 1 : 0);
  }
  function localIdCheck(stop, born, expires) {
    const today = localIso();
    const problems = [];
    if (!born) problems.push("No date of birth.");
    else if (born > today) problems.push("The date of birth is in the future.");
    else if (stop.minimum_age === null) problems.push("The store's age rule is not on this phone: check the ID with a connection.");
    else if (ageOn(born, today) < stop.minimum_age)
      problems.push(`Under age: ${ageOn(born, today)}, the minimum is ${stop.minimum_age}.`);
    if (!expires) problems.push("No expiry date.");
    else if (expires < today) problems.push(`The ID expired on ${expires}.`);
    return { passed: problems.length === 0, problems, underAge: problems.some((p) => p.startsWith("Under age")) };
  }
  // The AAMVA barcode's date of birth (DBB) and expiry (DBA): MMDDCCYY on US cards, CCYYMMDD on Canadian ones.
  function aamvaDates(text) {
    const field = (code) => { const m = new RegExp("(?:^|\\n|\\r)" + code + "(\\d{8})").exec(text); return m ? m[1] : null; };
    const iso = (v) => (!v ? null : /^(19|20)/.test(v) ? `${v.slice(0, 4)}-${v.slice(4, 6)}-${v.slice(6)}` : `${v.slice(4)}-${v.slice(0, 2)}-${v.slice(2, 4)}`);
    return { born: iso(field("DBB")), expires: iso(field("DBA")) };
  }
  function position() {
    return new Promise((resolve) => {
      if (!navigator.geolocation) return resolve(null);
      navigator.geolocation.getCurrentPosition(
        (p) => resolve({
          latitude: p.coords.latitude.toFixed(6),
          longitude: p.coords.longitude.toFixed(6),
          accuracy: p.coords.accuracy == null ? null : Math.round(p.coords.accuracy),
          speed: p.coords.speed,
          heading: p.coords.heading,
        }),
        () => resolve(null),
        { timeout: 3000, maximumAge: 60000 }
      );
    });
  }

  // --- Actions: applied to the phone's copy at once, queued, then sent ------------------------------------------
  async function act(kind, stop, trip, payload, more) {
    const item = { key: uuid(), kind, stop_id: stop ? stop.id : null, trip_id: trip.id, payload: payload || {}, happened_at: new Date().toISOString() };
    if (stop) {
      const v = stop.visit;
      if (kind === "proof") { v.proof_queued = true; v.proof_signed_name = payload.signature ? payload.signed_name : ""; }
      if (kind === "arrived") v.arrived_at = v.arrived_at || item.happened_at;
      if (kind === "id_checked") { v.id_passed = payload.local_passed; v.id_method = payload.scan_text ? "scan" : "typed"; }
      if (kind === "delivered") stop.status = "delivered";
      if (kind === "returned") { stop.status = "returned"; v.return_reason = payload.reason; }
    }
    await queueAdd(item);
    if (more) return; // the next action of the same tap follows: save and send once, after it
    await metaSet("today", data);
    await refreshCount();
    render();
    sync();
  }
  // A position is queued without redrawing the screen (the driver may be typing at the door) and sent with
  // the other waiting actions.
  async function track(trip, where) {
    await queueAdd({ key: uuid(), kind: "position", stop_id: null, trip_id: trip.id, payload: where, happened_at: new Date().toISOString() });
    await refreshCount();
    sync();
  }
  async function refreshCount() {
    queueCount = (await queueAll()).length;
    showStatus();
  }
  function showStatus() {
    const online = navigator.onLine;
    const net = document.querySelector("[data-net]");
    net.textContent = online ? "Online" : "Offline";
    net.className = "driver-bar__net " + (online ? "is-online" : "is-offline");
    const q = document.querySelector("[data-queue]");
    q.textContent = queueCount === 0 ? "All actions sent" : `${queueCount} action${queueCount === 1 ? "" : "s"} waiting to be sent`;
    q.className = "driver-bar__queue" + (queueCount ? " is-waiting" : "");
    q.setAttribute("data-queue-count", String(queueCount));
  }
  async function notice(result) {
    const notices = (await metaGet("notices")) || [];
    // One notice per thing to do: the same refusal of a stop's several actions (or the phone's own ID refusal
    // confirmed by the store) is said once.
    if (notices.some((n) => n.message === result.message)) return;
    notices.push({ message: result.message, todo: result.todo || "", key: result.key });
    await metaSet("notices", notices);
    renderNotices(notices);
  }
  async function sync() {
    if (syncing || !navigator.onLine) return;
    syncing = true;
    try {
      for (;;) {
        // Up to 50 a request (the server's batch): an hour offline (180 positions) goes in 4 requests.
        let items = (await queueAll()).slice(0, 50);
        if (!items.length) break;
        // A proof carries its images (up to about 1.6 MB): it goes alone, so that no request grows too large.
        const proofAt = items.findIndex((i) => i.kind === "proof");
        if (proofAt === 0) items = items.slice(0, 1);
        else if (proofAt > 0) items = items.slice(0, proofAt);
        const csrf = (await metaGet("csrf")) || body.dataset.csrf;
        let response;
        try {
          response = await fetch(URLS.sync, {
            method: "POST",
            credentials: "same-origin",
            headers: { "Content-Type": "application/json", "X-CSRFToken": csrf },
            body: JSON.stringify({ actions: items.map(({ seq, ...rest }) => rest) }),
          });
        } catch (err) {
          break; // no connection after all: the queue waits
        }
        if (response.status === 413 && items.length === 1 && items[0].kind === "proof" && items[0].payload.photo) {
          // Too large for the store to take in one request: the signature matters most, so it goes without the photo.
          items[0].payload.photo = "";
          await queuePut(items[0]);
          await notice({ message: "The photo at the door was too large to send: the proof went without it.", todo: "", key: items[0].key });
          continue;
        }
        const type = response.headers.get("Content-Type") || "";
        if (!response.ok || !type.includes("json")) {
          renderNotices([{ message: "The store did not take your actions (signed out?).", todo: "Open the app's page again while online and sign in: nothing is lost." }], true);
          break;
        }
        const answer = await response.json();
        let changed = false; // a batch of positions alone leaves the screen as it is
        for (let i = 0; i < items.length; i++) {
          const result = answer.results[i];
          if (!result) continue;
          if (items[i].kind !== "position") changed = true;
          if (result.stop) {
            const [, stop] = findStop(result.stop.id);
            if (stop) { stop.status = result.stop.status; Object.assign(stop.visit, result.stop); delete stop.visit.id; delete stop.visit.status; }
          }
          if (result.outcome !== "applied" || result.todo) await notice(result);
          await queueDelete(items[i].seq);
        }
        await refreshCount();
        if (changed) {
          await metaSet("today", data);
          render();
        }
      }
    } finally {
      syncing = false;
    }
    if (navigator.onLine && queueCount === 0) download();
  }
  async function download() {
    try {
      const response = await fetch(URLS.today, { credentials: "same-origin", headers: { Accept: "application/json" } });
      if (!response.ok || !(response.headers.get("Content-Type") || "").includes("json")) return;
      const fresh = await response.json();
      if ((await queueAll()).length) return; // the phone's own changes go first
      data = fresh;
      await metaSet("today", data);
      await metaSet("synced_at", new Date().toISOString());
      render();
    } catch (err) {
      /* offline: keep what the phone has */
    }
  }

  // --- Screen --------------------------------------------------------------------------------------------------
  function renderNotices(notices, transient) {
    const box = document.querySelector("[data-notices]");
    box.replaceChildren(
      ...notices.map((n, i) =>
        el("div", { class: "driver-notice", role: "alert" },
          el("p", { class: "driver-notice__message", text: n.message }),
          n.todo ? el("p", { class: "driver-notice__todo", text: "What to do: " + n.todo }) : null,
          transient ? null : el("button", { type: "button", class: "driver-btn driver-btn--small", text: "Got it", onclick: async () => {
            const all = (await metaGet("notices")) || []; all.splice(i, 1); await metaSet("notices", all); renderNotices(all);
          } })
        )
      )
    );
  }
  function signedBy(stop) {
    return stop.visit.proof_signed_name || (stop.proof && stop.proof.signed_name) || "";
  }
  function stopCard(trip, stop, isNext) {
    const v = stop.visit;
    const closed = stop.status !== "pending";
    const cancelled = !["reserved", "checked_in"].includes(stop.order_status);
    const card = el("details", { class: "stop stop--" + stop.status, "data-stop": stop.id, open: isNext || null },
      el("summary", { class: "stop__head" },
        el("span", { class: "stop__seq", text: String(stop.sequence) }),
        el("span", { class: "stop__who" }, el("strong", { text: stop.customer }), el("span", { class: "stop__window", text: stop.window })),
        el("span", { class: "stop__badge", text: closed ? (stop.status === "delivered" ? "Delivered" : "Not delivered") : v.arrived_at ? "Here" : "To deliver" })
      )
    );
    const facts = el("div", { class: "stop__body" },
      el("p", { class: "stop__address", text: stop.address }),
      el("div", { class: "stop__nav" },
        el("a", { class: "driver-btn driver-btn--secondary", href: stop.navigation.geo, text: "Navigate" }),
        el("a", { class: "driver-btn driver-btn--secondary", href: stop.navigation.maps, target: "_blank", rel: "noopener", text: "Open in Maps" })
      ),
      el("p", { class: "stop__collect" }, "Collect ", el("strong", { text: "$" + stop.collect }), ` (goods $${stop.goods} + delivery $${stop.fee}), cash`),
      el("ul", { class: "stop__items" }, stop.items.map((it) => el("li", {}, el("strong", { text: `${it.quantity} × ${it.product}` }), el("span", { class: "stop__tag", text: "Tag " + it.tag })))),
      stop.note ? el("p", { class: "stop__note", text: "Note: " + stop.note }) : null,
      v.conflict ? el("p", { class: "stop__conflict", text: v.conflict }) : null
    );
    card.append(facts);
    if (closed) {
      facts.append(el("p", { class: "stop__done", text: stop.status === "delivered" ? "Handed over." + (signedBy(stop) ? ` Signed by ${signedBy(stop)}.` : "") : "Not delivered: " + (REASONS[v.return_reason] || v.return_reason) + ". The goods stay in the car." }));
      return card;
    }
    if (cancelled) facts.append(el("p", { class: "stop__conflict", text: "The store cancelled this order. Do not hand it over: mark it not delivered." }));
    const actions = el("div", { class: "stop__actions" });
    if (!v.arrived_at && !cancelled) actions.append(el("button", { type: "button", class: "driver-btn driver-btn--primary", "data-action": "arrived", text: "Arrived", onclick: () => act("arrived", stop, trip) }));
    if (v.arrived_at && v.id_passed === null && !cancelled) actions.append(idForm(trip, stop));
    if (v.id_passed === true && !cancelled) {
      actions.append(el("p", { class: "stop__ok", text: "ID checked: hand over and collect the cash." }));
      // The proof goes with the first Complete; when it is already queued or at the store, Complete alone.
      if (v.proof_queued || stop.proof) actions.append(el("button", { type: "button", class: "driver-btn driver-btn--primary", "data-action": "delivered", text: `Complete: handed over, $${stop.collect} collected`, onclick: () => act("delivered", stop, trip, { collected: stop.goods }) }));
      else actions.append(proofForm(trip, stop));
    }
    if (v.id_passed === false) actions.append(el("p", { class: "stop__conflict", text: "ID refused: do not hand over. The goods go back to the store." }));
    actions.append(returnForm(trip, stop, v.id_passed === false ? ["under_age", "no_id"] : cancelled ? ["cancelled"] : ["refused", "no_id", "nobody_home", "under_age"]));
    facts.append(actions);
    return card;
  }
  // --- Proof of delivery at Complete: the customer's signature (signature_pad), a photo shrunk on the phone, the
  // time and the position; queued as one "proof" action (its own key) just before the "delivered" one.
  const PHOTO_MAX_SIDE = 1280;
  const PHOTO_QUALITY = 0.7;
  function readAsDataUrl(file) {
    return new Promise((resolve, reject) => {
      const reader = new FileReader();
      reader.onload = () => resolve(reader.result);
      reader.onerror = () => reject(reader.error);
      reader.readAsDataURL(file);
    });
  }
  async function shrinkPhoto(file) {
    // A data: URL (the page's policy allows data: images, not blob:), drawn at most 1280 px a side, as JPEG 0.7.
    const source = await readAsDataUrl(file);
    const img = await new Promise((resolve, reject) => {
      const image = new Image();
      image.onload = () => resolve(image);
      image.onerror = () => reject(new Error("not an image"));
      image.src = source;
    });
    const scale = Math.min(1, PHOTO_MAX_SIDE / Math.max(img.naturalWidth, img.naturalHeight));
    const canvas = document.createElement("canvas");
    canvas.width = Math.max(1, Math.round(img.naturalWidth * scale));
    canvas.height = Math.max(1, Math.round(img.naturalHeight * scale));
    const ctx = canvas.getContext("2d");
    ctx.fillStyle = "#fff";
    ctx.fillRect(0, 0, canvas.width, canvas.height);
    ctx.drawImage(img, 0, 0, canvas.width, canvas.height);
    return canvas.toDataURL("image/jpeg", PHOTO_QUALITY);
  }
  function precisePosition() {
    return new Promise((resolve) => {
      if (!navigator.geolocation) return resolve(null);
      navigator.geolocation.getCurrentPosition(
        (p) => resolve({ latitude: p.coords.latitude.toFixed(6), longitude: p.coords.longitude.toFixed(6), accuracy: Math.round(p.coords.accuracy) }),
        () => resolve(null),
        { timeout: 5000, maximumAge: 30000, enableHighAccuracy: true }
      );
    });
  }
  function proofForm(trip, stop) {
    const form = el("form", { class: "stop__proof", "data-proof-form": stop.id, novalidate: true },
      el("h3", { text: "Proof of delivery" }),
      el("p", { class: "driver-muted", id: `sig-help-${stop.id}`, text: "Hand the phone to the customer to sign in the box." })
    );
    const canvas = el("canvas", { class: "stop__signature", "data-signature-pad": stop.id, "aria-label": "Signature box", "aria-describedby": `sig-help-${stop.id}` });
    const clear = el("button", { type: "button", class: "driver-btn driver-btn--small", text: "Clear signature" });
    const name = el("input", { type: "text", name: "signed_name", id: `signed-${stop.id}`, autocomplete: "off", maxlength: "120", value: stop.customer.replace(/ [A-Z]\.$/, "") });
    const photo = el("input", { type: "file", name: "photo", id: `photo-${stop.id}`, accept: "image/*", capture: "environment", "data-photo": stop.id });
    const preview = el("img", { class: "stop__photo", alt: "Photo at the door", hidden: true });
    const reason = el("input", { type: "text", name: "no_signature_reason", id: `nosig-${stop.id}`, maxlength: "300", placeholder: "e.g. refused to sign" });
    const error = el("p", { class: "stop__conflict", role: "alert", hidden: true });
    const submit = el("button", { type: "submit", class: "driver-btn driver-btn--primary", "data-action": "delivered", text: `Complete: handed over, $${stop.collect} collected` });
    form.append(
      el("div", { class: "stop__signature-box" }, canvas), clear,
      el("label", { for: name.id, text: "Name of the person signing" }), name,
      el("label", { for: photo.id, text: "Photo at the door (optional)" }), photo, preview,
      el("details", { class: "stop__nosig" }, el("summary", { text: "The customer cannot or will not sign?" }),
        el("label", { for: reason.id, text: "Why there is no signature" }), reason),
      error, submit
    );
    let pad = null;
    let photoData = "";
    // The pad is sized once the card is on the screen (its width is known then), at the screen's pixel density.
    const setUp = () => {
      if (pad || !canvas.isConnected || !canvas.offsetWidth) return;
      if (typeof window.SignaturePad !== "function") { error.hidden = false; error.textContent = "The signature box did not load: reopen the app."; return; }
      const ratio = Math.max(window.devicePixelRatio || 1, 1);
      canvas.width = canvas.offsetWidth * ratio;
      canvas.height = canvas.offsetHeight * ratio;
      canvas.getContext("2d").scale(ratio, ratio);
      pad = new window.SignaturePad(canvas, { backgroundColor: "rgb(255,255,255)", penColor: "#111" });
      pad.addEventListener("endStroke", () => { error.hidden = true; });
    };
    requestAnimationFrame(setUp);
    form.addEventListener("pointerdown", setUp, { capture: true });
    clear.addEventListener("click", () => { setUp(); if (pad) pad.clear(); });
    photo.addEventListener("change", async () => {
      photoData = "";
      preview.hidden = true;
      if (!photo.files || !photo.files[0]) return;
      try {
        photoData = await shrinkPhoto(photo.files[0]);
        preview.src = photoData;
        preview.hidden = false;
      } catch (err) {
        error.hidden = false;
        error.textContent = "That file is not a photo: take the photo again.";
      }
    });
    form.addEventListener("submit", async (event) => {
      event.preventDefault();
      setUp();
      const signed = pad && !pad.isEmpty();
      const why = reason.value.trim();
      error.hidden = true;
      if (!signed && !why) { error.hidden = false; error.textContent = "The customer signs in the box, or say why there is no signature."; return; }
      if (signed && !name.value.trim()) { error.hidden = false; error.textContent = "Type the name of the person who signed."; name.focus(); return; }
      submit.disabled = true;
      const where = await precisePosition();
      const payload = {
        signature: signed ? pad.toDataURL("image/png") : "",
        signed_name: signed ? name.value.trim() : "",
        no_signature_reason: signed ? "" : why,
        photo: photoData,
        ...(where || {}),
      };
      await act("proof", stop, trip, payload, true);
      act("delivered", stop, trip, { collected: stop.goods });
    });
    return form;
  }
  function idForm(trip, stop) {
    const form = el("form", { class: "stop__id", "data-id-form": stop.id },
      el("h3", { text: `Check the ID (${stop.minimum_age ? stop.minimum_age + "+" : "age"})` })
    );
    const born = el("input", { type: "date", name: "date_of_birth", id: `dob-${stop.id}`, required: true });
    const expires = el("input", { type: "date", name: "expires_on", id: `exp-${stop.id}`, required: true });
    const scanText = { value: "" };
    if ("BarcodeDetector" in window) {
      form.append(el("button", { type: "button", class: "driver-btn driver-btn--secondary", text: "Scan the back of the ID", onclick: () => scan(form, born, expires, scanText) }));
    }
    form.append(
      el("label", { for: born.id, text: "Date of birth" }), born,
      el("label", { for: expires.id, text: "ID expires" }), expires,
      el("button", { type: "submit", class: "driver-btn driver-btn--primary", "data-action": "id_checked", text: "Check ID" })
    );
    form.addEventListener("submit", async (event) => {
      event.preventDefault();
      const verdict = localIdCheck(stop, born.value, expires.value);
      const where = await position();
      const payload = { local_passed: verdict.passed, ...(where || {}) };
      if (scanText.value) payload.scan_text = scanText.value;
      else { payload.date_of_birth = born.value; payload.expires_on = expires.value; }
      if (!verdict.passed) await notice({ message: "ID refused: " + verdict.problems.join(" "), todo: "Do not hand over. Mark the stop not delivered (under age or no valid ID)." });
      act("id_checked", stop, trip, payload);
    });
    return form;
  }
  async function scan(form, born, expires, scanText) {
    let detector;
    try {
      const formats = await BarcodeDetector.getSupportedFormats();
      if (!formats.includes("pdf417")) throw new Error("no pdf417");
      detector = new BarcodeDetector({ formats: ["pdf417"] });
    } catch (err) {
      form.prepend(el("p", { class: "driver-muted", text: "This phone cannot read ID barcodes: type the dates." }));
      return;
    }
    const video = el("video", { class: "stop__camera", playsinline: true, muted: true });
    form.prepend(video);
    let stream;
    try {
      stream = await navigator.mediaDevices.getUserMedia({ video: { facingMode: "environment" } });
    } catch (err) {
      video.replaceWith(el("p", { class: "driver-muted", text: "No camera: type the dates." }));
      return;
    }
    video.srcObject = stream;
    await video.play();
    const started = Date.now();
    const look = async () => {
      const codes = await detector.detect(video).catch(() => []);
      if (codes.length) {
        stream.getTracks().forEach((t) => t.stop());
        video.remove();
        scanText.value = codes[0].rawValue;
        const dates = aamvaDates(scanText.value);
        if (dates.born) born.value = dates.born;
        if (dates.expires) expires.value = dates.expires;
        form.prepend(el("p", { class: "stop__ok", text: "Barcode read: check the dates, then Check ID." }));
      } else if (Date.now() - started < 30000) requestAnimationFrame(look);
      else { stream.getTracks().forEach((t) => t.stop()); video.replaceWith(el("p", { class: "driver-muted", text: "No barcode found: type the dates." })); }
    };
    look();
  }
  function returnForm(trip, stop, reasons) {
    const box = el("div", { class: "stop__return" }, el("p", { class: "stop__return-title", text: "Not delivered?" }));
    for (const reason of reasons) {
      box.append(el("button", { type: "button", class: "driver-btn driver-btn--return", "data-return": reason, text: REASONS[reason], onclick: () => {
        if (window.confirm(`Mark stop ${stop.sequence} not delivered: ${REASONS[reason]}?`)) act("returned", stop, trip, { reason });
      } }));
    }
    return box;
  }
  function render() {
    const box = document.querySelector("[data-trips]");
    if (!data.trips.length) {
      box.replaceChildren(el("p", { class: "driver-empty", text: "No trip for you today yet. The dispatcher sends it when it is ready." }));
      return;
    }
    box.replaceChildren(
      ...data.trips.map((trip) => {
        const next = trip.stops.find((s) => s.status === "pending");
        const done = trip.stops.filter((s) => s.status !== "pending").length;
        return el("section", { class: "trip", "data-trip": trip.id },
          el("h2", { class: "trip__title", text: `Trip ${trip.id} · ${trip.status_label}` }),
          el("p", { class: "driver-muted", text: `${trip.store} · leaves ${trip.planned_start} · ${trip.vehicle} · ${done} of ${trip.stops.length} stops done` }),
          ...trip.stops.map((stop) => stopCard(trip, stop, stop === next))
        );
      })
    );
  }

  // --- Start ---------------------------------------------------------------------------------------------------
  async function start() {
    await metaSet("csrf", body.dataset.csrf);
    data = (await metaGet("today")) || { trips: [] };
    renderNotices((await metaGet("notices")) || []);
    render();
    await refreshCount();
    const synced = await metaGet("synced_at");
    document.querySelector("[data-synced]").textContent = synced ? `Trip downloaded ${new Date(synced).toLocaleTimeString([], { hour: "numeric", minute: "2-digit" })}` : "Trip not downloaded yet: open the app once with a connection.";
    if (navigator.onLine) {
      if (queueCount) await sync();
      else await download();
      const again = await metaGet("synced_at");
      if (again) document.querySelector("[data-synced]").textContent = `Trip downloaded ${new Date(again).toLocaleTimeString([], { hour: "numeric", minute: "2-digit" })}`;
    }
    body.setAttribute("data-ready", "");
  }
  window.addEventListener("online", () => { showStatus(); sync(); });
  window.addEventListener("offline", showStatus);
  setInterval(() => { showStatus(); sync(); }, 15000);
  // The position while a trip is on the road, every 20 s, queued like every action (sent when online, in
  // batches). Where the browser has no Permissions API (older Safari), the phone simply asks for the position;
  // only a refusal the phone already knows of stops it.
  setInterval(async () => {
    const trip = data.trips.find((t) => t.status === "departed");
    if (!trip || !navigator.geolocation) return;
    if (navigator.permissions && navigator.permissions.query) {
      const state = await navigator.permissions.query({ name: "geolocation" }).catch(() => null);
      if (state && state.state === "denied") return;
    }
    const where = await position();
    if (where) track(trip, where);
  }, 20000);
  if ("serviceWorker" in navigator) navigator.serviceWorker.register(URLS.sw, { scope: URLS.sw.replace(/sw\.js$/, "") }).catch(() => {});
  start();
})();
