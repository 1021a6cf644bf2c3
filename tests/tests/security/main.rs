//! Workspaces are sealed from each other on every interface (the chat API, live events, presence,
//! reports), strangers and forged tokens get nothing, and no secret ever reaches a log.

mod live;
mod nats;
mod nats_consumers;
mod routes;

use std::time::Duration;

use e2e::analytics::{client_event, post_events, report, total};
use e2e::api::{Api, PASSWORD};
use e2e::llm::{API_KEY, LlmMock};
use e2e::metrics::{scrape, value};
use e2e::{Service, Topology};
use fechatter_auth::{TokenSigner, WorkspaceRole};
use fechatter_events::{UserId, WorkspaceId};
use routes::{Targets, ids, outsider_finds_nothing, strangers_are_refused};
use serde_json::json;
use test_support::wait_until;

pub const WAIT: Duration = Duration::from_secs(30);

/// Everything at debug, so that a secret in any line a service could log is caught; sign-in
/// limited to 10 attempts a minute per address and client events to 2 posts a minute per user.
const SETTINGS: &[(&str, &str)] = &[
    ("FECHATTER_RATE_LIMIT_AUTH_PER_MINUTE", "10"),
    ("ANALYTICS_RATE_LIMIT_PER_USER_PER_MINUTE", "2"),
    ("FECHATTER_LOG", "debug"),
    ("NOTIFY_LOG", "debug"),
    ("BOT_LOG", "debug"),
    ("ANALYTICS_LOG", "debug"),
];

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn no_one_reaches_another_workspace_or_a_chat_they_are_not_in_and_no_secret_is_logged() {
    let model = LlmMock::start().await;
    let mut settings = SETTINGS.to_vec();
    settings.extend([("BOT_LLM_URL", model.url()), ("BOT_LLM_API_KEY", API_KEY)]);
    let topology = Topology::start_with(&settings).await;
    let api = Api::new(topology.url(Service::Fechatter));
    let analytics = Api::new(topology.url(Service::Analytics));

    let ann = api.sign_up_owner("ann", "Acme").await;
    let invite = api.invite(&ann).await;
    let bob = api.sign_up_invited(&invite, "bob").await;
    let cat = api.sign_up_member(&ann, "cat").await;
    let zed = api.sign_up_owner("zed", "Globex").await;
    let general = api
        .create_chat(&ann, "public_channel", Some("general"), &[&bob])
        .await;
    let secret = api
        .create_chat(&ann, "private_channel", Some("board"), &[&cat])
        .await;
    let globex = api.create_chat(&zed, "group", Some("globex"), &[]).await;
    let hello = api.send(&ann, general, "hello acme").await;
    let plans = api.send(&ann, secret, "the plans").await;
    let shared = share(&api, &ann, general, "agenda.txt").await;
    let private = share(&api, &ann, secret, "board-minutes.txt").await;
    api.send(&zed, globex, "hello globex").await;
    post_events(
        &analytics,
        Some(&ann),
        &[client_event(
            "search_performed",
            "acme-session",
            json!({"results": 3}),
        )],
    )
    .await
    .expect(202);

    // The chat API, route by route.
    let tried = outsider_finds_nothing(
        &api,
        &zed,
        &Targets {
            chat: general,
            message: hello,
            member: bob.id,
            file: shared,
        },
    )
    .await;
    assert!(tried >= 10, "only {tried} routes name a resource");
    outsider_finds_nothing(
        &api,
        &bob,
        &Targets {
            chat: secret,
            message: plans,
            member: cat.id,
            file: private,
        },
    )
    .await;
    let zeds = |path: &'static str| {
        let api = &api;
        let token = zed.access_token.clone();
        async move { api.get(Some(&token), path).await.body }
    };
    assert_eq!(ids(&zeds("/api/chats").await, "id"), [globex].into());
    assert!(ids(&zeds("/api/chats/public").await, "id").is_empty());
    // Globex's directory: zed and Globex's own assistant.
    let directory = zeds("/api/users").await;
    let people: Vec<&serde_json::Value> = directory["items"]
        .as_array()
        .into_iter()
        .flatten()
        .filter(|user| user["is_bot"] == false)
        .collect();
    assert_eq!(people.len(), 1, "{directory}");
    assert_eq!(people[0]["id"], zed.id);
    assert!(
        directory["items"]
            .as_array()
            .into_iter()
            .flatten()
            .all(|user| user["workspace_id"] == zed.workspace_id),
        "{directory}"
    );
    let direct = api
        .post(
            Some(&zed.access_token),
            "/api/chats",
            json!({"chat_type": "direct", "members": [ann.id]}),
        )
        .await;
    assert_eq!(
        direct.status, 422,
        "a chat with another workspace's user: {}",
        direct.body
    );

    // Search: once Acme's messages are indexed, no one outside a chat finds them.
    wait_until("Acme's messages to be searchable", WAIT, || async {
        api.search(&ann, "plans").await == [plans] && api.search(&bob, "acme").await == [hello]
    })
    .await;
    assert!(api.search(&zed, "acme").await.is_empty());
    assert!(api.search(&zed, "plans").await.is_empty());
    assert!(
        api.search(&bob, "plans").await.is_empty(),
        "bob is not in the board channel"
    );
    for (user, chat) in [(&zed, general), (&bob, secret)] {
        let scoped = api
            .get(
                Some(&user.access_token),
                &format!("/api/search?q=the&chat_id={chat}"),
            )
            .await;
        assert!(
            scoped.status == 404 || scoped.items().is_empty(),
            "{} searching chat {chat}: {}",
            user.handle,
            scoped.body
        );
    }

    // Strangers and forged tokens.
    assert!(strangers_are_refused(&api, None).await >= 20);
    // A token signed with a key pair that is not the deployment's, claiming to be ann the owner.
    let (another_key, _) = fechatter_auth::generate_key_pair().unwrap_or_else(|e| panic!("{e}"));
    let forged = TokenSigner::from_private_pem(&another_key, Duration::from_secs(900))
        .unwrap_or_else(|e| panic!("{e}"))
        .issue(
            UserId(ann.id),
            WorkspaceId(ann.workspace_id),
            WorkspaceRole::Owner,
            uuid::Uuid::now_v7(),
            None,
        );
    strangers_are_refused(&api, Some(&forged)).await;
    for (service, path) in [
        (Service::Notify, "/events"),
        (Service::Notify, "/online-users"),
        (Service::Analytics, "/api/reports/messages"),
    ] {
        let other = Api::new(topology.url(service));
        for token in [None, Some(forged.as_str())] {
            let reply = other.get(token, path).await;
            assert_eq!(reply.status, 401, "{path} with {token:?}: {}", reply.body);
        }
    }

    live::outsider_hears_nothing(&topology, &api, &ann, &bob, &zed, general, globex).await;
    live::pins_and_statuses_stay_inside(&topology, &api, &ann, &bob, &zed, general, hello).await;
    live::threads_reach_their_followers(&topology, &api, &ann, &bob, &cat, &zed).await;

    // Reports: Globex sees its own numbers only, and cannot write into Acme's.
    wait_until("Acme's search to be counted", WAIT, || async {
        total(
            &report(&analytics, &ann, "search").await,
            "searches",
            |_| true,
        ) == 1
    })
    .await;
    // Globex's two messages, none of Acme's.
    wait_until("Globex's messages to be counted", WAIT, || async {
        let zed_messages = report(&analytics, &zed, "messages").await;
        total(&zed_messages, "messages", |_| true) == 2
            && total(&zed_messages, "messages", |row| row["chat_type"] == "group") == 2
    })
    .await;
    let zed_top = report(&analytics, &zed, "top-chats").await;
    assert_eq!(
        zed_top.body["rows"][0]["chat_id"], globex,
        "{}",
        zed_top.body
    );
    assert_eq!(
        total(
            &report(&analytics, &zed, "search").await,
            "searches",
            |_| true
        ),
        0
    );
    let mut claimed = client_event("search_performed", "x", json!({}));
    claimed["workspace_id"] = json!(ann.workspace_id);
    let claim = post_events(&analytics, Some(&zed), &[claimed]).await;
    assert_eq!(claim.status, 422, "{}", claim.body);

    // A client posting events faster than its per-user limit is slowed down and counted.
    let mut answers = Vec::new();
    for n in 0..3 {
        let event = client_event("search_performed", &format!("cat-{n}"), json!({}));
        answers.push(post_events(&analytics, Some(&cat), &[event]).await);
    }
    let statuses: Vec<u16> = answers.iter().map(|reply| reply.status).collect();
    assert_eq!(
        statuses,
        [202, 202, 429],
        "{:?}",
        answers.last().map(|r| &r.body)
    );
    assert_eq!(
        answers[2].body["code"], "rate_limited",
        "{}",
        answers[2].body
    );
    assert!(
        value(
            &scrape(&topology.metrics_url(Service::Analytics)).await,
            "analytics_rate_limited_total",
            &[("scope", "user")]
        )
        .is_some_and(|n| n >= 1.0)
    );

    // A password guesser on another machine is slowed down; ann, on hers, is not.
    let guesser = Api::from_address(topology.url(Service::Fechatter), [127, 0, 0, 2].into());
    let mut throttled = None;
    for _ in 0..11 {
        let guess = guesser
            .post(
                None,
                "/api/signin",
                json!({"email": ann.email, "password": "guess-0123456789"}),
            )
            .await;
        if guess.status == 429 {
            throttled = Some(guess);
            break;
        }
        assert_eq!(guess.status, 401, "{}", guess.body);
    }
    let throttled = throttled.unwrap_or_else(|| panic!("11 wrong passwords were all answered"));
    assert_eq!(throttled.body["code"], "rate_limited", "{}", throttled.body);
    assert!(throttled.headers.contains_key("retry-after"));
    assert!(
        value(
            &scrape(&topology.metrics_url(Service::Fechatter)).await,
            "fechatter_rate_limited_total",
            &[]
        )
        .is_some_and(|n| n >= 1.0)
    );

    // Sessions end; tokens rotate.
    let rotated = api
        .post(
            None,
            "/api/refresh",
            json!({"refresh_token": ann.refresh_token}),
        )
        .await;
    rotated.expect(200);
    let mut secrets = vec![PASSWORD.to_owned(), API_KEY.to_owned(), invite, forged];
    secrets.extend(topology.secrets.values());
    for key in ["access_token", "refresh_token"] {
        secrets.push(rotated.body[key].as_str().unwrap_or_default().to_owned());
    }
    for user in [&ann, &bob, &cat, &zed] {
        secrets.push(user.access_token.clone());
        secrets.push(user.refresh_token.clone());
    }
    assert_no_secret_logged(&topology, &secrets).await;
}

/// Uploads a file as `user` and shares it in `chat`; its id.
async fn share(api: &Api, user: &e2e::api::User, chat: i64, name: &str) -> i64 {
    let content = format!("{name}: for members only\n");
    let upload = api.upload(user, name, content.as_bytes()).await;
    upload.expect(201);
    api.post(
        Some(&user.access_token),
        &format!("/api/chats/{chat}/messages"),
        json!({"content": name, "files": [upload.id()]}),
    )
    .await
    .expect(201);
    upload.id()
}

/// The services logged plenty (requests included), and none of `secrets` in any form they were
/// sent in.
async fn assert_no_secret_logged(topology: &Topology, secrets: &[String]) {
    wait_until("the request logs to be written", WAIT, || async {
        topology.logs().contains("/api/chats")
    })
    .await;
    let logs = topology.logs();
    for service in Service::ALL {
        assert!(
            logs.contains(service.name()),
            "nothing logged by {}",
            service.name()
        );
    }
    for secret in secrets {
        assert!(secret.len() >= 16, "too short to look for: {secret:?}");
        // A JWT's signature alone is as good as the token.
        let tail = &secret[secret.len() - 16..];
        assert!(
            !logs.contains(secret.as_str()) && !logs.contains(tail),
            "a secret ({}…) is in the logs",
            &secret[..6]
        );
    }
}
