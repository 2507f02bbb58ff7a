//! The inventory pages against the emulator, people signed in through the emulated Entra: a
//! viewer's search returns exactly the snapshot's matching flows, a flow's page shows its owners,
//! connectors, DLP verdict and the scan's findings on it, a maker's `/mine` lists exactly what
//! the snapshot says they own, and the server refuses the maker the tenant-wide inventory and
//! other people's flows. Bad queries get a 400 or are clamped.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use common::*;
use ppgov_core::{Finding, Flow, PrincipalRef, ResourceKind, ScanReport, Snapshot};
use ppgov_emulator::scenario::wellknown as wk;
use ppgov_store::Store;
use reqwest::StatusCode;

fn sorted(v: impl IntoIterator<Item = String>) -> Vec<String> {
    let mut v: Vec<String> = v.into_iter().collect();
    v.sort();
    v
}

/// A flow's owners as the snapshot records them: creator, then Owners of its access list.
fn flow_owners(f: &Flow) -> Vec<(String, Option<String>, Option<String>)> {
    let mut out: Vec<(String, Option<String>, Option<String>)> = Vec::new();
    if let Some(c) = &f.creator {
        out.push((c.clone(), None, None));
    }
    for p in f.permissions.iter().flatten() {
        if p.role_name.eq_ignore_ascii_case("owner")
            && !out
                .iter()
                .any(|o| o.0.eq_ignore_ascii_case(&p.principal.id))
        {
            out.push((
                p.principal.id.clone(),
                p.principal.display_name.clone(),
                p.principal.email.clone(),
            ));
        }
    }
    out
}

/// Whether the person `oid`/`upn` owns something with these owners (id, or address as recorded
/// or as Graph resolved it).
fn owned_by(
    snap: &Snapshot,
    owners: &[(String, Option<String>, Option<String>)],
    oid: &str,
    upn: &str,
) -> bool {
    owners.iter().any(|(id, _, email)| {
        let p = snap.principal(id);
        id.eq_ignore_ascii_case(oid)
            || email.iter().any(|e| e.eq_ignore_ascii_case(upn))
            || p.is_some_and(|p| {
                p.upn
                    .iter()
                    .chain(&p.mail)
                    .any(|e| e.eq_ignore_ascii_case(upn))
            })
    })
}

fn findings_on<'a>(scan: &'a ScanReport, kind: ResourceKind, id: &str) -> Vec<&'a Finding> {
    scan.findings
        .iter()
        .filter(|f| f.resource.kind == kind && f.resource.id.eq_ignore_ascii_case(id))
        .collect()
}

/// The maker persona's object id.
fn maker_oid() -> &'static str {
    wk::CONSOLE_PERSONAS
        .iter()
        .find(|p| p.0 == "console.maker")
        .unwrap()
        .1
}

/// The crawled snapshot, with the maker persona made the creator of one flow, an Owner (known
/// by address only) of another and the owner of an app, saved as the latest snapshot: the
/// emulator gives console personas no resources of their own. Returns it and the three ids.
fn give_the_maker_resources(
    store: &mut Store,
    snap: &Snapshot,
    scan: &ScanReport,
    upn: &str,
) -> (Snapshot, [String; 3]) {
    let mut snap = snap.clone();
    snap.id = format!("{}-maker", snap.id);
    snap.taken_at += chrono::Duration::seconds(1);
    // Flows with findings first, so `/mine` has remediation to show.
    let mut flows: Vec<usize> = (0..snap.flows.len()).collect();
    flows.sort_by_key(|&i| {
        std::cmp::Reverse(findings_on(scan, ResourceKind::Flow, &snap.flows[i].id).len())
    });
    let (a, b) = (flows[0], flows[1]);
    snap.flows[a].creator = Some(maker_oid().to_string());
    snap.flows[b]
        .permissions
        .get_or_insert_with(Vec::new)
        .push(ppgov_core::Permission {
            principal: PrincipalRef {
                id: "00000000-0000-4000-8000-00000000abcd".into(),
                principal_type: "User".into(),
                display_name: Some("Max Maker".into()),
                email: Some(upn.to_uppercase()),
            },
            role_name: "Owner".into(),
        });
    let app = snap
        .apps
        .iter()
        .position(|x| !findings_on(scan, ResourceKind::App, &x.id).is_empty())
        .unwrap_or(0);
    snap.apps[app].owner = Some(PrincipalRef {
        id: maker_oid().to_string(),
        principal_type: "User".into(),
        display_name: Some("Max Maker".into()),
        email: None,
    });
    store.insert_snapshot(&snap).unwrap();
    let ids = [
        snap.flows[a].id.clone(),
        snap.flows[b].id.clone(),
        snap.apps[app].id.clone(),
    ];
    (snap, ids)
}

/// The flow ids a search answers, over every page.
async fn search_all(run: &Running, b: &mut Browser, kind: &str, q: &str) -> Vec<String> {
    let mut ids = Vec::new();
    let mut page = 1;
    loop {
        let url = format!(
            "/t/{}/inventory?kind={kind}&q={}&page={page}",
            run.tenant,
            url::form_urlencoded::byte_serialize(q.as_bytes()).collect::<String>()
        );
        let p = b.get(&run.url(&url)).await;
        assert_eq!(p.status, StatusCode::OK, "{url}: {}", p.body);
        ids.extend(attrs(
            section(&p.body, "id=\"inventory\"", "</table>"),
            "data-id",
        ));
        let pages: usize = by_id(&p.body, "pages").parse().unwrap();
        if page >= pages {
            return ids;
        }
        page += 1;
    }
}

/// Checks a flow's page against the snapshot and the scan; returns the DLP status it shows.
async fn check_flow_page(
    run: &Running,
    b: &mut Browser,
    snap: &Snapshot,
    scan: &ScanReport,
    f: &Flow,
) -> String {
    let p = b
        .get(&run.url(&format!("/t/{}/flows/{}", run.tenant, f.id)))
        .await;
    assert_eq!(p.status, StatusCode::OK, "{}", p.body);
    assert_eq!(text(&by_id(&p.body, "flow-name")), f.display_name.trim());
    assert_eq!(by_id(&p.body, "flow-state"), f.state);
    assert_eq!(
        sorted(attrs(
            section(&p.body, "id=\"owners\"", "</ul>"),
            "data-owner"
        )),
        sorted(flow_owners(f).into_iter().map(|o| o.0))
    );
    let facts = ppgov_engine::flowdef::flow_facts(f);
    assert_eq!(
        sorted(attrs(
            section(&p.body, "id=\"connectors\"", "</ul>"),
            "data-connector"
        )),
        sorted(facts.connectors.clone())
    );
    let verdict =
        ppgov_engine::dlp::flow_verdict(&ppgov_engine::dlp::effective(snap, &f.environment_id), f);
    let status = if !verdict.blocked.is_empty() || !verdict.mixed.is_empty() {
        "violates"
    } else if !verdict.unverified.is_empty() {
        "unverified"
    } else {
        "clean"
    };
    assert_eq!(by_id(&p.body, "dlp-status"), status);
    let explained = section(&p.body, "id=\"dlp-violations\"", "</ul>");
    for v in verdict.all() {
        assert!(
            text(explained).contains(&v.explain()),
            "{} in {explained}",
            v.explain()
        );
    }
    let on = findings_on(scan, ResourceKind::Flow, &f.id);
    assert!(!on.is_empty(), "the scenario plants findings on flows");
    assert_eq!(
        sorted(attrs(
            section(&p.body, "id=\"findings\"", "</table>"),
            "data-rule"
        )),
        sorted(on.iter().map(|x| x.rule_id.clone()))
    );
    status.to_string()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn inventory_flow_pages_and_mine_show_the_snapshot_and_refuse_the_rest() {
    let emu = emulator().await;
    let dir = tempfile::tempdir().unwrap();
    let run = start(&emu, dir.path(), "session_minutes = 60").await;
    crawled(&run.server).await;
    let t = run.tenant.clone();
    let mut store = Store::open(&run.store).unwrap();
    let info = store.latest_snapshot(&t, true).unwrap().unwrap();
    let crawled_snap = store.load_snapshot(&info.id).unwrap();
    let scan = store.previous_scan(&t, None).unwrap().expect("a scan");
    let upn = run.persona("console.maker");
    let (snap, [mine_a, mine_b, mine_app]) =
        give_the_maker_resources(&mut store, &crawled_snap, &scan, &upn);
    assert!(snap.flows.len() > 2, "the scenario has flows");

    // A viewer searches flows by a piece of a name, in another case.
    let mut viewer = run.signed_in("console.viewer").await;
    let name = &snap.flows[snap.flows.len() / 2].display_name;
    let word = name
        .split_whitespace()
        .max_by_key(|w| w.len())
        .unwrap()
        .to_string();
    let q = word.to_uppercase();
    let low = word.to_lowercase();
    let has = |s: &str| s.to_lowercase().contains(&low);
    let want = sorted(
        snap.flows
            .iter()
            .filter(|f| {
                has(&f.display_name)
                    || has(&f.id)
                    || flow_owners(f).iter().any(|(id, n, e)| {
                        let p = snap.principal(id);
                        has(id)
                            || n.as_deref()
                                .or(p.and_then(|p| p.display_name.as_deref()))
                                .is_some_and(has)
                            || e.iter()
                                .chain(p.and_then(|p| p.upn.as_ref()))
                                .chain(p.and_then(|p| p.mail.as_ref()))
                                .any(|e| has(e))
                    })
            })
            .map(|f| f.id.clone()),
    );
    assert!(!want.is_empty());
    let got = sorted(search_all(&run, &mut viewer, "flows", &q).await);
    assert_eq!(got, want, "flows matching `{q}`");
    // With no search, every flow, page by page.
    let all = sorted(search_all(&run, &mut viewer, "flows", "").await);
    assert_eq!(all, sorted(snap.flows.iter().map(|f| f.id.clone())));
    let envs = sorted(search_all(&run, &mut viewer, "environments", "").await);
    assert_eq!(envs, sorted(snap.environments.iter().map(|e| e.id.clone())));
    let p = viewer
        .get(&run.url(&format!("/t/{t}/inventory?kind=principals")))
        .await;
    assert_eq!(p.status, StatusCode::OK, "{}", p.body);
    assert!(p.body.contains(maker_oid()), "the maker owns things now");
    assert!(p.body.contains("id=\"nav-inventory\""));

    // Bad queries: a clear 400, and a page past the end shows the last page.
    for bad in ["kind=robots", "page=0", "page=-1", "page=two"] {
        let p = viewer
            .get(&run.url(&format!("/t/{t}/inventory?{bad}")))
            .await;
        assert_eq!(p.status, StatusCode::BAD_REQUEST, "{bad}: {}", p.body);
        assert!(by_id(&p.body, "problem").len() > 10, "{bad} says why");
    }
    let long = "x".repeat(300);
    let p = viewer
        .get(&run.url(&format!("/t/{t}/inventory?q={long}")))
        .await;
    assert_eq!(p.status, StatusCode::BAD_REQUEST);
    let p = viewer
        .get(&run.url(&format!(
            "/t/{t}/inventory?kind=flows&page=999999999999999999999999"
        )))
        .await;
    assert_eq!(p.status, StatusCode::OK, "{}", p.body);
    assert_eq!(by_id(&p.body, "page"), by_id(&p.body, "pages"));

    // The flow pages of the two flows with the most findings (one clean under DLP, one not,
    // in the default scenario); at least one of them violates a policy.
    let mut statuses = Vec::new();
    for id in [&mine_a, &mine_b] {
        let f = snap.flows.iter().find(|f| f.id == *id).unwrap();
        statuses.push(check_flow_page(&run, &mut viewer, &snap, &scan, f).await);
    }
    assert!(statuses.iter().any(|s| s == "violates"), "{statuses:?}");

    // The app's page: its owners (the maker now) and the scan's findings on it.
    let app = snap.apps.iter().find(|a| a.id == mine_app).unwrap();
    let p = viewer
        .get(&run.url(&format!("/t/{t}/apps/{}", app.id)))
        .await;
    assert_eq!(p.status, StatusCode::OK, "{}", p.body);
    let mut owners: Vec<String> = Vec::new();
    for id in app
        .owner
        .iter()
        .chain(&app.created_by)
        .map(|o| o.id.clone())
        .chain(
            app.permissions
                .iter()
                .flatten()
                .filter(|x| x.role_name.eq_ignore_ascii_case("owner"))
                .map(|x| x.principal.id.clone()),
        )
    {
        if !owners.iter().any(|o| o.eq_ignore_ascii_case(&id)) {
            owners.push(id);
        }
    }
    assert_eq!(
        sorted(attrs(
            section(&p.body, "id=\"owners\"", "</ul>"),
            "data-owner"
        )),
        sorted(owners)
    );
    assert!(p.body.contains(&format!("data-owner=\"{}\"", maker_oid())));
    assert_eq!(
        sorted(attrs(
            section(&p.body, "id=\"findings\"", "</table>"),
            "data-rule"
        )),
        sorted(
            findings_on(&scan, ResourceKind::App, &app.id)
                .iter()
                .map(|x| x.rule_id.clone())
        )
    );
    let p = viewer
        .get(&run.url(&format!("/t/{t}/apps/no-such-app")))
        .await;
    assert_eq!(p.status, StatusCode::NOT_FOUND);

    // An unknown flow: 404 with a page that says so.
    let p = viewer
        .get(&run.url(&format!("/t/{t}/flows/no-such-flow")))
        .await;
    assert_eq!(p.status, StatusCode::NOT_FOUND);
    assert!(
        text(&by_id(&p.body, "problem")).contains("no flow with id `no-such-flow`"),
        "{}",
        p.body
    );

    // The maker: /mine lists exactly what the snapshot says they own, each with its findings
    // and what to do.
    let mut maker = run.signed_in("console.maker").await;
    let p = maker.get(&run.url(&format!("/t/{t}/mine"))).await;
    assert_eq!(p.status, StatusCode::OK, "{}", p.body);
    assert!(
        !p.body.contains("id=\"nav-inventory\""),
        "no inventory link"
    );
    let oid = maker_oid();
    let want_flows = sorted(
        snap.flows
            .iter()
            .filter(|f| owned_by(&snap, &flow_owners(f), oid, &upn))
            .map(|f| f.id.clone()),
    );
    let want_apps = sorted(
        snap.apps
            .iter()
            .filter(|a| {
                let owners: Vec<_> = a
                    .owner
                    .iter()
                    .chain(&a.created_by)
                    .map(|o| (o.id.clone(), o.display_name.clone(), o.email.clone()))
                    .chain(
                        a.permissions
                            .iter()
                            .flatten()
                            .filter(|x| x.role_name.eq_ignore_ascii_case("owner"))
                            .map(|x| (x.principal.id.clone(), None, x.principal.email.clone())),
                    )
                    .collect();
                owned_by(&snap, &owners, oid, &upn)
            })
            .map(|a| a.id.clone()),
    );
    assert!(want_flows.contains(&mine_a) && want_flows.contains(&mine_b));
    assert!(want_apps.contains(&mine_app));
    let articles: Vec<String> = p.body.split("<article").skip(1).map(String::from).collect();
    let listed = |kind: &str| {
        sorted(
            articles
                .iter()
                .filter(|a| a.contains(&format!("data-kind=\"{kind}\"")))
                .flat_map(|a| attrs(a, "data-id").into_iter().take(1)),
        )
    };
    assert_eq!(listed("flows"), want_flows);
    assert_eq!(listed("apps"), want_apps);
    assert_eq!(by_id(&p.body, "flows-count"), want_flows.len().to_string());
    for a in &articles {
        let id = attrs(a, "data-id").remove(0);
        let kind = if a.contains("data-kind=\"flows\"") {
            ResourceKind::Flow
        } else {
            ResourceKind::App
        };
        let on = findings_on(&scan, kind, &id);
        assert_eq!(
            sorted(attrs(a, "data-rule")),
            sorted(on.iter().map(|x| x.rule_id.clone())),
            "{id}"
        );
        for x in on {
            assert!(
                text(a).contains(x.remediation.text.trim()),
                "what to do for {} on {id}",
                x.rule_id
            );
        }
    }

    // The maker opens their own flow (creator, and Owner by address) but not another person's,
    // nor the tenant-wide inventory.
    for id in [&mine_a, &mine_b] {
        let p = maker.get(&run.url(&format!("/t/{t}/flows/{id}"))).await;
        assert_eq!(p.status, StatusCode::OK, "{id}: {}", p.body);
    }
    let p = maker
        .get(&run.url(&format!("/t/{t}/apps/{mine_app}")))
        .await;
    assert_eq!(p.status, StatusCode::OK, "{}", p.body);
    let other = snap
        .flows
        .iter()
        .find(|f| !want_flows.contains(&f.id))
        .unwrap();
    let p = maker
        .get(&run.url(&format!("/t/{t}/flows/{}", other.id)))
        .await;
    assert_eq!(p.status, StatusCode::FORBIDDEN, "{}", p.body);
    assert!(p.body.contains("not yours"), "{}", p.body);
    for q in ["", "?kind=flows&q=a", "?kind=robots"] {
        let p = maker.get(&run.url(&format!("/t/{t}/inventory{q}"))).await;
        assert_eq!(p.status, StatusCode::FORBIDDEN, "inventory{q}");
    }

    // The viewer owns nothing: their /mine is empty, not the maker's.
    let p = viewer.get(&run.url(&format!("/t/{t}/mine"))).await;
    assert_eq!(p.status, StatusCode::OK);
    assert_eq!(by_id(&p.body, "flows-count"), "0");
    assert_eq!(by_id(&p.body, "apps-count"), "0");
    run.server.shutdown().await;
}
