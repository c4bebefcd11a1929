//! The dashboard end to end, in headless Chromium against the real server with demo data and
//! the real plugins: every page opens and shows its data at desktop and phone widths with no
//! console error; a segmentation created through the form refits and its segments appear; a
//! membership change arrives live after a recordInteraction; the keyboard reaches everything
//! that is clicked. Screenshots go to `target/screenshots/`.

use kindred_e2e::metrics::wait_for_metric;
use kindred_e2e::{Browser, Server, Workspace, plugin_entry, plugin_library};
use serde_json::{Value, json};
use std::time::{Duration, Instant};

/// Demo customers: enough for every chart and community, quick to fit.
const CUSTOMERS: &str = "1500";

fn settings() -> String {
    [
        plugin_entry("demographic", &plugin_library("kindred_demographic"), ""),
        plugin_entry("behavioral", &plugin_library("kindred_behavioral"), ""),
        plugin_entry("need-based", &plugin_library("kindred_need_based"), ""),
        plugin_entry("other-abi", &plugin_library("kindred_fixture_other_abi"), ""),
    ]
    .concat()
}

async fn demo_server(work: &Workspace) -> Server {
    work.write("kindred.toml", &settings());
    work.serve(&["--demo", "--customers", CUSTOMERS]).await
}

/// Waits until the demo's segmentations have finished their first refit; returns them.
async fn settled_segmentations(server: &Server) -> Vec<Value> {
    let started = Instant::now();
    loop {
        let data = server
            .data("{ segmentations { id name strategy status segments { label size } } }", json!({}))
            .await;
        let all = data["segmentations"].as_array().expect("segmentations").clone();
        if all.len() == 4 && all.iter().all(|s| s["status"] == "READY") {
            return all;
        }
        assert!(started.elapsed() < Duration::from_secs(120), "demo segmentations did not settle: {data}");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

fn id_named(segmentations: &[Value], name: &str) -> String {
    let found = segmentations.iter().find(|s| s["name"] == name).unwrap_or_else(|| panic!("no {name}"));
    found["id"].as_str().expect("id").to_owned()
}

/// The page is no wider than the window (nothing to scroll sideways but tables in their box).
async fn assert_fits_width(browser: &Browser, page: &str) {
    let overflowing = browser
        .run(
            "return [...document.querySelectorAll('body *')]
               .filter((e) => e.getBoundingClientRect().right > window.innerWidth + 1
                 && !e.closest('.card, pre'))
               .slice(0, 5)
               .map((e) => `${e.tagName}.${e.className} ${Math.round(e.getBoundingClientRect().right)}`);",
        )
        .await;
    let fits = browser.run("return document.documentElement.scrollWidth <= window.innerWidth + 1;").await;
    assert_eq!(fits, json!(true), "{page} is wider than the window: {overflowing}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_page_shows_its_data_without_console_errors() {
    let work = Workspace::new();
    let server = demo_server(&work).await;
    let segmentations = settled_segmentations(&server).await;
    let rfm = id_named(&segmentations, "RFM");
    let ages = id_named(&segmentations, "Age bands");
    let communities = id_named(&segmentations, "Communities");
    let browser = Browser::start().await;
    let base = server.base();

    // Overview: totals, a card per segmentation with its bar chart.
    browser.open(&format!("{base}/")).await;
    browser.wait_for_text("#stat-customers .stat-value", "1,500").await;
    browser.find(&format!(".segmentation-card[data-segmentation='{rfm}'] canvas")).await;
    assert_eq!(browser.find_all(".segmentation-card").await.len(), 4);
    browser.find("#live-indicator.live-live").await;
    browser.screenshot("overview").await;
    browser.assert_no_console_errors("the overview").await;

    // Segmentation: segments, personas with charts, the model, history and the last refit.
    browser.open(&format!("{base}/#/segmentations/{rfm}")).await;
    browser.find("#segments-table tbody tr").await;
    browser.find("#personas .persona canvas").await;
    browser.find("#size-history canvas").await;
    browser.find(".job[data-status='SUCCEEDED'] progress").await;
    browser.wait_for_text("#model", "recency").await;
    browser.screenshot("segmentation").await;
    browser.assert_no_console_errors("the segmentation page").await;

    // Members: a page of them, the search narrowing it to one, the CSV export.
    let first_segment = browser.find("#segments-table tbody tr th a").await;
    let segment = first_segment.text().await.expect("segment label");
    first_segment.click().await.expect("open the members");
    browser.wait_for_text("h1", &format!("Members of {segment}")).await;
    browser.find("#members-table tbody tr").await;
    let first = browser.text("#members-table tbody tr td:nth-child(2)").await;
    let first_row_is = |external_id: &str, same: bool| {
        format!(
            "const cell = document.querySelector('#members-table tbody tr td:nth-child(2)');
             return !!cell && (cell.textContent === {external_id:?}) === {same};"
        )
    };
    browser.find("#next-page").await.click().await.expect("next page");
    browser.wait_for_text(".pager", "Page 2").await;
    browser.wait_until("page 2 lists other members", &first_row_is(&first, false)).await;
    browser.find("#previous-page").await.click().await.expect("previous page");
    browser.wait_for_text(".pager", "Page 1").await;
    browser.wait_until("page 1 is back", &first_row_is(&first, true)).await;
    let wanted = browser.text("#members-table tbody tr td:nth-child(2)").await;
    let search = browser.find("#member-search").await;
    search.send_keys(&wanted).await.expect("type a search");
    browser
        .wait_until(
            "the search leaves one member",
            &format!(
                "const rows = [...document.querySelectorAll('#members-table tbody tr')];
                 return rows.length === 1 && rows[0].textContent.includes({wanted:?});"
            ),
        )
        .await;
    let export = browser.find("#export-csv").await;
    let csv_path = export.attr("href").await.expect("href").expect("an export link");
    let csv = reqwest::get(format!("{base}{csv_path}")).await.expect("download").text().await.expect("csv");
    assert!(csv.contains(&wanted), "the export holds the members: {csv:.200}");
    browser.screenshot("members").await;
    browser.assert_no_console_errors("the members page").await;

    // Customer: profile, needs, ties graph, timeline, memberships with history.
    browser.find("#members-table tbody tr td a").await.click().await.expect("open the customer");
    browser.wait_for_text("#profile", &wanted).await;
    browser.find("#needs .needs").await;
    browser.find("#timeline li").await;
    browser.find("#memberships .memberships li").await;
    browser.find("#membership-history tbody tr").await;
    browser.screenshot("customer").await;
    browser.assert_no_console_errors("the customer page").await;

    // Communities: the graph, and a community picked by keyboard shows its needs and influencers.
    browser.open(&format!("{base}/#/segmentations/{communities}/communities")).await;
    browser.find("svg.graph .node").await;
    let nodes = browser.find_all("svg.graph .node").await;
    assert!(nodes.len() >= 2, "several communities are drawn");
    let second = nodes[1].attr("data-node").await.expect("attr").expect("a node id");
    browser.run("document.querySelectorAll('svg.graph .node')[1].focus(); return true;").await;
    browser.client().active_element().await.expect("focus").send_keys("\u{E007}").await.expect("press Enter");
    browser.wait_for_text("#community-detail h3", &second).await;
    browser.find("#community-detail .influencers li a").await;
    browser.screenshot("communities").await;
    browser.assert_no_console_errors("the communities page").await;

    // Overlap: the heat map of two segmentations.
    browser.open(&format!("{base}/#/overlap?a={rfm}&b={ages}")).await;
    browser.find("#heatmap tbody td").await;
    browser.screenshot("overlap").await;
    browser.assert_no_console_errors("the overlap page").await;

    // Plugins: loaded ones with version and ABI, the refused one with its reason.
    browser.open(&format!("{base}/#/plugins")).await;
    browser.find("#plugins-table tr[data-plugin='behavioral'][data-status='LOADED']").await;
    browser.wait_for_text("#plugins-table tr[data-plugin='other-abi'] .refusal", "ABI").await;
    browser.screenshot("plugins").await;
    browser.assert_no_console_errors("the plugins page").await;

    // The customer finder, by keyboard: type an external id, press Enter.
    browser.open(&format!("{base}/")).await;
    let finder = browser.find("#finder-input").await;
    finder.send_keys(&format!("{wanted}\u{E007}")).await.expect("type and press Enter");
    browser.wait_for_text("#profile", &wanted).await;

    // Phone width: pages fit, nothing overflows sideways.
    browser.resize(390, 844).await;
    for (name, route) in [
        ("overview", String::new()),
        ("segmentation", format!("#/segmentations/{rfm}")),
        ("customer", format!("#/customers/external/{wanted}")),
        ("plugins", "#/plugins".to_owned()),
    ] {
        browser.open(&format!("{base}/{route}")).await;
        browser.find("main h1").await;
        browser.find("main .card").await;
        browser
            .wait_until(
                "the page is laid out within the window",
                "return document.documentElement.scrollWidth <= window.innerWidth + 1;",
            )
            .await;
        assert_fits_width(&browser, name).await;
        browser.screenshot(&format!("phone-{name}")).await;
    }
    browser.assert_no_console_errors("the pages at phone width").await;
    browser.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_segmentation_made_in_the_form_refits_and_changes_arrive_live() {
    let work = Workspace::new();
    let server = demo_server(&work).await;
    settled_segmentations(&server).await;
    let browser = Browser::start().await;
    let base = server.base();

    // The form is generated from the strategy's schema and checks a field before sending.
    browser.open(&format!("{base}/#/plugins")).await;
    let strategy = browser.find("#create-strategy").await;
    strategy.select_by_label("behavioral").await.expect("choose behavioral");
    browser.find("#param-window_days").await;
    browser.find("#create-name").await.send_keys("Recent buyers").await.expect("name");
    browser.find("#param-method").await.select_by_label("rfm").await.expect("method");
    browser.find("#param-window_days").await.send_keys("0").await.expect("window");
    browser.find("#create-submit").await.click().await.expect("submit");
    browser.wait_for_text("[data-field='window_days'] .field-error", "at least 1").await;
    browser.screenshot("form-field-error").await;

    // An error only the server finds is shown next to its field too.
    let window = browser.find("#param-window_days").await;
    window.clear().await.expect("clear");
    window.send_keys("180").await.expect("window");
    browser.find("#param-as_of").await.send_keys("the day before yesterday").await.expect("as_of");
    browser.find("#create-submit").await.click().await.expect("submit");
    browser.find("[data-field='as_of'] .field-error").await;
    browser.screenshot("form-server-error").await;
    // The browser logs the rejected request (HTTP 200 with errors is not logged); nothing else.
    browser.assert_no_console_errors("the plugins form").await;

    // Fixed, it is created: the page follows its refit to the end and shows its segments.
    browser.find("#param-as_of").await.clear().await.expect("clear");
    browser.find("#create-submit").await.click().await.expect("submit");
    browser.wait_for_text("h1", "Recent buyers").await;
    browser.find("#refit-progress").await;
    browser.find(".job[data-status='SUCCEEDED']").await;
    browser
        .wait_until(
            "the progress bar is full",
            "const bar = document.querySelector('#refit-progress'); return bar.value === bar.max;",
        )
        .await;
    browser.find("#segments-table tbody tr").await;
    browser.screenshot("created-segmentation").await;

    // Refit again from the button: the bar runs and ends full again.
    browser.find("#refit-button").await.click().await.expect("refit");
    browser.find(".job[data-status='SUCCEEDED']").await;
    browser
        .wait_until("the refit button is back", "return !document.querySelector('#refit-button').disabled;")
        .await;
    browser.assert_no_console_errors("the created segmentation").await;

    // Live: a big purchase moves a new customer into "big spenders" while the overview is open.
    browser.open(&format!("{base}/")).await;
    browser.find("#live-indicator.live-live").await;
    // The subscription is sent right after the connection is acknowledged: wait until the
    // server holds it.
    let open = [("field", "membershipChanged")];
    wait_for_metric(&server, "kindred_graphql_subscriptions_open", &open, "the feed subscribes", |n| {
        n >= 1.0
    })
    .await;
    server
        .data("mutation { upsertCustomer(input: { externalId: \"dashboard-whale\" }) { id } }", json!({}))
        .await;
    let yesterday = (chrono::Utc::now() - chrono::Duration::days(1)).to_rfc3339();
    let purchase = json!({ "i": { "customerExternalId": "dashboard-whale", "occurredAt": yesterday,
        "kind": "purchase", "amount": 5000.0, "currency": "EUR", "channel": "web" } });
    server.data("mutation($i: InteractionInput!) { recordInteraction(input: $i) { id } }", purchase).await;
    browser
        .wait_until(
            "the whale's entry into big spenders is listed",
            "return [...document.querySelectorAll(\"#live-changes li[data-customer='dashboard-whale']\")]
               .some((li) => li.textContent.includes('entered big spenders'));",
        )
        .await;
    browser.screenshot("overview-live-change").await;
    browser.assert_no_console_errors("the overview with live changes").await;
    browser.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn with_authentication_on_the_dashboard_asks_for_a_key() {
    let work = Workspace::new();
    let loaded = work.run(&["demo", "--customers", "300"]);
    assert!(loaded.status.success(), "{}", String::from_utf8_lossy(&loaded.stderr));
    let analyst = work.create_key("analyst", "dashboard");
    let ingest = work.create_key("ingest", "loader");
    let editor = work.create_key("editor", "merger");
    work.write("kindred.toml", &format!("[auth]\nenabled = true\n{}", settings()));
    let server = work.serve(&[]).await;
    // Two records of one person, merged by the second; only an admin may undo it.
    let upsert = "mutation($i: CustomerInput!) { upsertCustomer(input: $i) { id } }";
    let mut survivor = String::new();
    for input in [
        json!({ "externalId": "shop-zoe", "origin": "shop", "email": "zoe@x.org" }),
        json!({ "externalId": "web-zoe", "origin": "web", "phone": "+493012345678" }),
        json!({ "externalId": "web-zoe", "origin": "web", "email": "zoe@x.org" }),
    ] {
        let (_, _, body) = server.graphql_with_key(Some(&editor), upsert, json!({ "i": input })).await;
        if survivor.is_empty() {
            survivor = body["data"]["upsertCustomer"]["id"].as_str().expect("id").to_owned();
        }
    }
    let browser = Browser::start().await;
    browser.open(&format!("{}/", server.base())).await;
    browser.find("#sign-in").await;
    browser.screenshot("sign-in").await;

    let attempt = |key: String| {
        let browser = &browser;
        async move {
            let field = browser.find("#api-key").await;
            field.clear().await.expect("clear");
            field.send_keys(&key).await.expect("type the key");
            browser.find("#sign-in-submit").await.click().await.expect("sign in");
        }
    };
    attempt("kdr_000000000000_wrong".to_owned()).await;
    browser.wait_for_text("#api-key-error", "not valid").await;
    attempt(ingest).await;
    browser.wait_for_text("#api-key-error", "cannot read").await;
    attempt(analyst).await;
    browser.wait_for_text("#stat-customers .stat-value", "301").await;
    browser.find("#live-indicator.live-live").await;
    browser.screenshot("signed-in-overview").await;
    // An analyst sees the merge and who may undo it, not a button that would be refused.
    browser.open(&format!("{}/#/customers/{survivor}", server.base())).await;
    browser.wait_for_text("#merge-history", "an admin can undo it").await;
    assert!(browser.text("#merge-history").await.contains("absorbed web-zoe"));

    browser.find("#sign-out").await.click().await.expect("sign out");
    browser.find("#sign-in").await;
    // 401 answers are logged by the browser as failed loads: expected here, so read and drop.
    let errors = browser.console_errors().await;
    assert!(errors.iter().all(|error| error.contains("401")), "only the refused keys: {errors:#?}");
    browser.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_degraded_segmentation_says_so_on_the_overview_its_page_and_the_plugins_page() {
    let work = Workspace::new();
    // A long repair backoff keeps it degraded while the pages are read.
    let settings = format!(
        "[segments]\nrepair_backoff_secs = 600\n{}",
        plugin_entry("misbehaving", &plugin_library("kindred_fixture_misbehaving"), "")
    );
    work.write("kindred.toml", &settings);
    let loaded = work.run(&["demo", "--customers", "40"]);
    assert!(loaded.status.success(), "{}", String::from_utf8_lossy(&loaded.stderr));
    let server = work.serve(&[]).await;
    let create = "mutation { createSegmentation(input: { name: \"touchy\", strategy: \"misbehaving\", \
        mode: DYNAMIC, params: { mode: \"panic_on_write\" } }) { id } }";
    let id =
        server.data(create, json!({})).await["createSegmentation"]["id"].as_str().expect("id").to_owned();
    let status = "query($id: ID!) { segmentation(id: $id) { status } }";
    let wait_for = |wanted: &'static str| {
        let (server, id) = (&server, id.clone());
        async move {
            let started = Instant::now();
            loop {
                let state = server.data(status, json!({ "id": id })).await;
                if state["segmentation"]["status"] == wanted {
                    return;
                }
                assert!(started.elapsed() < Duration::from_secs(60), "not {wanted}: {state}");
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
        }
    };
    wait_for("READY").await;
    server.data("mutation { upsertCustomer(input: { externalId: \"touchy-1\" }) { id } }", json!({})).await;
    wait_for("DEGRADED").await;

    let browser = Browser::start().await;
    let base = server.base();
    browser.open(&format!("{base}/")).await;
    let card_note = format!("[data-segmentation='{id}'] .degraded-note");
    browser.find(&card_note).await;
    let note = browser.text(&card_note).await;
    assert!(note.contains("Degraded since"), "{note}");
    browser.screenshot("overview-degraded").await;
    browser.open(&format!("{base}/#/segmentations/{id}")).await;
    browser.find(".error.degraded").await;
    let alert = browser.text(".error.degraded").await;
    assert!(alert.contains("Degraded since") && alert.contains("fixture panics re-assigning"), "{alert}");
    assert_eq!(browser.text("main .page-header .badge").await, "degraded");
    browser.screenshot("segmentation-degraded").await;
    browser.open(&format!("{base}/#/plugins")).await;
    browser.find("tr[data-plugin='misbehaving'] .failures").await;
    let failures = browser.text("tr[data-plugin='misbehaving'] .failures").await;
    assert!(failures.contains("failed call") && failures.contains("panicked"), "{failures}");
    browser.assert_no_console_errors("the degraded segmentation's pages").await;
    browser.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_customer_page_shows_identifiers_and_merges_and_undoes_one() {
    let work = Workspace::new();
    work.write("kindred.toml", &plugin_entry("behavioral", &plugin_library("kindred_behavioral"), ""));
    let server = work.serve(&[]).await;
    let upsert = "mutation($i: CustomerInput!) { upsertCustomer(input: $i) { id } }";
    let ana = server
        .data(upsert, json!({ "i": { "externalId": "shop-ana", "origin": "shop", "email": "ana@x.org", "firstName": "Ana" } }))
        .await["upsertCustomer"]["id"]
        .as_str()
        .expect("id")
        .to_owned();
    server
        .data(upsert, json!({ "i": { "externalId": "web-ana", "origin": "web", "phone": "+493012345678" } }))
        .await;
    // The web shop's record carries the shop's email: the two are merged.
    server
        .data(upsert, json!({ "i": { "externalId": "web-ana", "origin": "web", "email": "ana@x.org", "phone": "+493012345678" } }))
        .await;

    let browser = Browser::start().await;
    let base = server.base();
    browser.open(&format!("{base}/#/customers/{ana}")).await;
    browser.wait_for_text("#identifiers", "web-ana").await;
    let identifiers = browser.text("#identifiers").await;
    for expected in ["shop-ana", "ana@x.org", "+493012345678", "alias"] {
        assert!(identifiers.contains(expected), "{expected} in {identifiers}");
    }
    let history = browser.text("#merge-history").await;
    assert!(
        history.contains("absorbed web-ana")
            && history.contains("matched on")
            && history.contains("email ana@x.org"),
        "{history}"
    );
    browser.screenshot("customer-identity").await;
    // Undo: asked, then confirmed.
    browser.find("#merge-history button.secondary").await.click().await.expect("undo");
    browser.find("#merge-history button.danger").await.click().await.expect("confirm");
    browser.wait_for_text("#identity .notice", "is a customer of their own again").await;
    browser.wait_for_text("#merge-history", "undone").await;
    let identifiers = browser.text("#identifiers").await;
    assert!(!identifiers.contains("web-ana"), "the web id went back: {identifiers}");
    let restored = server.data("{ customer(externalId: \"web-ana\") { id phone } }", json!({})).await;
    assert_ne!(restored["customer"]["id"], json!(ana), "{restored}");
    browser.assert_no_console_errors("the customer page with merges").await;
    browser.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_data_quality_page_reviews_duplicates_by_keyboard() {
    let work = Workspace::new();
    // Everything probable is queued for review, nothing merged by itself.
    let settings = format!(
        "[identity]\nauto_merge_probability = 0.999999999\nreview_probability = 0.5\n{}",
        plugin_entry("behavioral", &plugin_library("kindred_behavioral"), "")
    );
    work.write("kindred.toml", &settings);
    let loaded = work.run(&["demo", "--customers", "400", "--duplicates", "0.2"]);
    assert!(loaded.status.success(), "{}", String::from_utf8_lossy(&loaded.stderr));
    let resolved = work.run(&["resolve"]);
    assert!(resolved.status.success(), "{}", String::from_utf8_lossy(&resolved.stderr));
    let server = work.serve(&[]).await;
    let pending = |data: &Value| data["dataQuality"]["suggestionsPending"].as_i64().expect("pending");
    let before = pending(&server.data("{ dataQuality { suggestionsPending } }", json!({})).await);
    assert!(before >= 2, "{}", String::from_utf8_lossy(&resolved.stdout));

    let browser = Browser::start().await;
    browser.open(&format!("{}/#/quality", server.base())).await;
    let first = browser.find("#review").await.attr("data-suggestion").await.expect("attribute").expect("id");
    let side_by_side = browser.text("#review table").await;
    assert!(side_by_side.contains("Last name") && side_by_side.contains("exact"), "{side_by_side}");
    browser.find("#completeness tr[data-field='email']").await;
    browser.screenshot("data-quality").await;
    // r: different people.
    browser.client().active_element().await.expect("focus").send_keys("r").await.expect("press r");
    browser.wait_for_text("#queue .notice", "Kept apart").await;
    browser
        .wait_until(
            "the next suggestion",
            &format!("return document.querySelector('#review')?.dataset.suggestion !== '{first}';"),
        )
        .await;
    // a: the same person, merged.
    browser.client().active_element().await.expect("focus").send_keys("a").await.expect("press a");
    browser.wait_for_text("#queue .notice", "Merged").await;
    let after = pending(&server.data("{ dataQuality { suggestionsPending } }", json!({})).await);
    assert!(after <= before - 2, "{before} -> {after}");
    let log = server.data("{ mergeLog { reason decidedBy } }", json!({})).await;
    assert_eq!(log["mergeLog"][0]["reason"], "PROBABILISTIC", "{log}");
    browser.assert_no_console_errors("the data quality page").await;
    browser.close().await;
}
