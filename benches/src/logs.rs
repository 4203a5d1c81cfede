//! The `logs` suite's data: a `hits` table with ClickBench's 105-column schema, typed (real
//! timestamps and dates, UTF-8 strings), Hive-partitioned by day. Distributions are made so that
//! every ClickBench query has something to find: the constants the queries filter on
//! (`CounterID = 62`, the `UserID`, `URLHash` and `RefererHash` they look up, URLs and titles
//! with "google", July 2013 dates, non-empty search phrases and phone models) all occur.

use std::path::Path;

use anyhow::Result;
use rayon::prelude::*;

use crate::columns::{Batch, Ty, V, write_file};
use crate::rng::{Rng, mix};

use Ty::{Date, I16, I32, I64, Str, Ts};

pub const COLUMNS: &[(&str, Ty)] = &[
    ("WatchID", I64),
    ("JavaEnable", I16),
    ("Title", Str),
    ("GoodEvent", I16),
    ("EventTime", Ts),
    ("EventDate", Date),
    ("CounterID", I32),
    ("ClientIP", I32),
    ("RegionID", I32),
    ("UserID", I64),
    ("CounterClass", I16),
    ("OS", I16),
    ("UserAgent", I16),
    ("URL", Str),
    ("Referer", Str),
    ("IsRefresh", I16),
    ("RefererCategoryID", I16),
    ("RefererRegionID", I32),
    ("URLCategoryID", I16),
    ("URLRegionID", I32),
    ("ResolutionWidth", I16),
    ("ResolutionHeight", I16),
    ("ResolutionDepth", I16),
    ("FlashMajor", I16),
    ("FlashMinor", I16),
    ("FlashMinor2", Str),
    ("NetMajor", I16),
    ("NetMinor", I16),
    ("UserAgentMajor", I16),
    ("UserAgentMinor", Str),
    ("CookieEnable", I16),
    ("JavascriptEnable", I16),
    ("IsMobile", I16),
    ("MobilePhone", I16),
    ("MobilePhoneModel", Str),
    ("Params", Str),
    ("IPNetworkID", I32),
    ("TraficSourceID", I16),
    ("SearchEngineID", I16),
    ("SearchPhrase", Str),
    ("AdvEngineID", I16),
    ("IsArtifical", I16),
    ("WindowClientWidth", I16),
    ("WindowClientHeight", I16),
    ("ClientTimeZone", I16),
    ("ClientEventTime", Ts),
    ("SilverlightVersion1", I16),
    ("SilverlightVersion2", I16),
    ("SilverlightVersion3", I32),
    ("SilverlightVersion4", I16),
    ("PageCharset", Str),
    ("CodeVersion", I32),
    ("IsLink", I16),
    ("IsDownload", I16),
    ("IsNotBounce", I16),
    ("FUniqID", I64),
    ("OriginalURL", Str),
    ("HID", I32),
    ("IsOldCounter", I16),
    ("IsEvent", I16),
    ("IsParameter", I16),
    ("DontCountHits", I16),
    ("WithHash", I16),
    ("HitColor", Str),
    ("LocalEventTime", Ts),
    ("Age", I16),
    ("Sex", I16),
    ("Income", I16),
    ("Interests", I16),
    ("Robotness", I16),
    ("RemoteIP", I32),
    ("WindowName", I32),
    ("OpenerName", I32),
    ("HistoryLength", I16),
    ("BrowserLanguage", Str),
    ("BrowserCountry", Str),
    ("SocialNetwork", Str),
    ("SocialAction", Str),
    ("HTTPError", I16),
    ("SendTiming", I32),
    ("DNSTiming", I32),
    ("ConnectTiming", I32),
    ("ResponseStartTiming", I32),
    ("ResponseEndTiming", I32),
    ("FetchTiming", I32),
    ("SocialSourceNetworkID", I16),
    ("SocialSourcePage", Str),
    ("ParamPrice", I64),
    ("ParamOrderID", Str),
    ("ParamCurrency", Str),
    ("ParamCurrencyID", I16),
    ("OpenstatServiceName", Str),
    ("OpenstatCampaignID", Str),
    ("OpenstatAdID", Str),
    ("OpenstatSourceID", Str),
    ("UTMSource", Str),
    ("UTMMedium", Str),
    ("UTMCampaign", Str),
    ("UTMContent", Str),
    ("UTMTerm", Str),
    ("FromTag", Str),
    ("HasGCLID", I16),
    ("RefererHash", I64),
    ("URLHash", I64),
    ("CLID", I32),
];

/// Values the ClickBench queries look up.
const LOOKED_UP_USER: i64 = 435_090_932_899_640_449;
const LOOKED_UP_REFERER_HASH: i64 = 3_594_120_000_172_545_465;
const LOOKED_UP_URL_HASH: i64 = 2_868_770_270_353_813_622;
/// 2013-07-01 00:00:00 UTC in seconds.
const FIRST_DAY_SECONDS: i64 = 1_372_636_800;

const PHONES: &[&str] = &[
    "iPad",
    "iPhone",
    "GT-I9300",
    "GT-I9500",
    "Galaxy Nexus",
    "HTC One",
    "Lumia 920",
    "Xperia Z",
    "Nexus 4",
    "MI-ONE",
];
const WORDS: &[&str] = &[
    "weather",
    "moscow",
    "buy",
    "car",
    "cheap",
    "flights",
    "news",
    "football",
    "recipe",
    "movie",
    "download",
    "free",
    "music",
    "games",
    "hotel",
    "job",
    "apartment",
    "rent",
    "shop",
    "phone",
];
const SITES: &[&str] = &[
    "yandex.ru",
    "mail.ru",
    "vk.com",
    "avito.ru",
    "auto.ru",
    "kinopoisk.ru",
    "rbc.ru",
    "lenta.ru",
    "livejournal.com",
    "wikipedia.org",
    "odnoklassniki.ru",
    "ria.ru",
];

fn phrase(k: u64) -> String {
    let a = WORDS[(k % 20) as usize];
    let b = WORDS[((k / 20) % 20) as usize];
    if k < 20 {
        a.to_string()
    } else {
        format!("{a} {b} {}", k / 400)
    }
}

fn url(k: u64) -> String {
    match k % 10 {
        0 => format!(
            "http://www.google.ru/search?q={}",
            phrase(k / 10).replace(' ', "+")
        ),
        1 => format!("http://googleads.g.doubleclick.net/pagead/ads?id={k}"),
        _ => format!(
            "http://{}/{}/{}.html",
            SITES[(k % 12) as usize],
            WORDS[((k / 12) % 20) as usize],
            k
        ),
    }
}

fn title(k: u64) -> String {
    match k % 10 {
        0 => format!("Google search: {}", phrase(k / 10)),
        3 => format!("{} — Google Maps", WORDS[(k % 20) as usize]),
        _ => format!(
            "{} {} — {}",
            WORDS[(k % 20) as usize],
            k,
            SITES[(k % 12) as usize]
        ),
    }
}

fn hash(s: &str) -> i64 {
    let mut h = 0xcbf2_9ce4_8422_2325u64;
    for b in s.bytes() {
        h = (h ^ b as u64).wrapping_mul(0x100_0000_01b3);
    }
    mix(h) as i64
}

/// Write `rows` hits over `days` days (from 2013-07-01), `files_per_day` files each, under
/// `out/day=YYYY-MM-DD/`.
pub fn generate(out: &Path, rows: u64, days: u32, files_per_day: u32, seed: u64) -> Result<usize> {
    let files = (days * files_per_day).max(1) as u64;
    let users = (rows / 40).max(50);
    let urls = (rows / 30).max(200);
    let phrases = (rows / 60).max(100);
    let ips = (rows / 25).max(100);
    (0..files).into_par_iter().try_for_each(|f| -> Result<()> {
        let day = (f / files_per_day.max(1) as u64) as i64;
        let n = rows / files + u64::from(f < rows % files);
        let date = chrono::DateTime::from_timestamp(FIRST_DAY_SECONDS + day * 86_400, 0)
            .expect("valid date")
            .format("%Y-%m-%d")
            .to_string();
        let path = out
            .join(format!("day={date}"))
            .join(format!("part-{:03}.parquet", f % files_per_day as u64));
        let mut rng = Rng::new(seed.wrapping_mul(1_000_003).wrapping_add(f));
        write_file(&path, COLUMNS, n as usize, |_, b| {
            hit(&mut rng, b, day, users, urls, phrases, ips)
        })
    })?;
    Ok(files as usize)
}

fn hit(rng: &mut Rng, b: &mut Batch, day: i64, users: u64, urls: u64, phrases: u64, ips: u64) {
    let seconds = FIRST_DAY_SECONDS + day * 86_400 + rng.below(86_400) as i64;
    let micros = seconds * 1_000_000;
    let user = rng.skewed(users);
    // Mid-ranked entries carry the looked-up values, so lookups find a handful of rows.
    let user_id = if user == 200 {
        LOOKED_UP_USER
    } else {
        (mix(user) >> 1) as i64
    };
    let url_k = rng.skewed(urls);
    let url_s = url(url_k);
    let url_hash = if url_k == 0 {
        LOOKED_UP_URL_HASH
    } else {
        hash(&url_s)
    };
    let referer_k = rng.skewed(urls);
    let referer = if rng.chance(0.3) {
        String::new()
    } else {
        url(referer_k + 1)
    };
    let referer_hash = if referer_k == 5 {
        LOOKED_UP_REFERER_HASH
    } else {
        hash(&referer)
    };
    let search = if rng.chance(0.7) {
        String::new()
    } else {
        phrase(rng.skewed(phrases))
    };
    let search_engine = if search.is_empty() {
        0
    } else {
        rng.weighted(&[(2, 60), (3, 25), (1, 10), (9, 5)])
    };
    let model = if rng.chance(0.85) {
        ""
    } else {
        PHONES[rng.skewed(PHONES.len() as u64) as usize]
    };
    let (width, height) = rng.weighted(&[
        ((1920, 1080), 30),
        ((1366, 768), 25),
        ((1280, 1024), 15),
        ((1440, 900), 10),
        ((1600, 900), 8),
        ((1024, 768), 7),
        ((360, 640), 5),
    ]);
    let counter = if rng.chance(0.35) {
        62
    } else {
        rng.skewed(5000) as i64 + 1
    };
    let client_ip = (mix(rng.skewed(ips) + 17) >> 33) as i64;
    let region = rng.weighted(&[(229, 30), (2, 12), (208, 8), (1, 6), (34, 4), (0, 0)]);
    let region = if rng.chance(0.4) {
        rng.range(1, 1000)
    } else {
        region
    };
    let mut col = 0;
    let mut push = |b: &mut Batch, v: V| {
        b.push(col, v);
        col += 1;
    };
    let i = V::I;
    let s = |x: &str| V::S(x.to_string());
    push(b, i((rng.next() >> 1) as i64)); // WatchID
    push(b, i(rng.chance(0.7) as i64)); // JavaEnable
    push(b, V::S(title(url_k))); // Title
    push(b, i(1)); // GoodEvent
    push(b, V::Ts(micros)); // EventTime
    push(b, V::Date((seconds / 86_400) as i32)); // EventDate
    push(b, i(counter)); // CounterID
    push(b, i(client_ip)); // ClientIP
    push(b, i(region)); // RegionID
    push(b, i(user_id)); // UserID
    push(b, i(rng.range(0, 4))); // CounterClass
    push(
        b,
        i(rng.weighted(&[(2, 40), (44, 20), (56, 15), (3, 10), (0, 15)])),
    ); // OS
    push(b, i(rng.range(0, 80))); // UserAgent
    push(b, V::S(url_s)); // URL
    push(b, V::S(referer)); // Referer
    push(b, i(rng.chance(0.1) as i64)); // IsRefresh
    push(b, i(rng.range(0, 20))); // RefererCategoryID
    push(b, i(rng.range(0, 1000))); // RefererRegionID
    push(b, i(rng.range(0, 20))); // URLCategoryID
    push(b, i(rng.range(0, 1000))); // URLRegionID
    push(b, i(width)); // ResolutionWidth
    push(b, i(height)); // ResolutionHeight
    push(b, i(rng.weighted(&[(24, 80), (32, 20)]))); // ResolutionDepth
    push(b, i(rng.range(0, 11))); // FlashMajor
    push(b, i(rng.range(0, 9))); // FlashMinor
    push(b, s("")); // FlashMinor2
    push(b, i(rng.range(0, 3))); // NetMajor
    push(b, i(rng.range(0, 9))); // NetMinor
    push(b, i(rng.range(0, 30))); // UserAgentMajor
    push(b, V::S(format!("{}", rng.range(0, 9)))); // UserAgentMinor
    push(b, i(1)); // CookieEnable
    push(b, i(1)); // JavascriptEnable
    push(b, i((!model.is_empty()) as i64)); // IsMobile
    push(b, i(if model.is_empty() { 0 } else { rng.range(1, 8) })); // MobilePhone
    push(b, s(model)); // MobilePhoneModel
    push(b, s("")); // Params
    push(b, i(rng.range(0, 100_000))); // IPNetworkID
    push(
        b,
        i(rng.weighted(&[(-1, 10), (0, 30), (1, 20), (2, 15), (3, 5), (5, 5), (6, 15)])),
    ); // TraficSourceID
    push(b, i(search_engine)); // SearchEngineID
    push(b, V::S(search)); // SearchPhrase
    push(
        b,
        i(if rng.chance(0.96) {
            0
        } else {
            rng.weighted(&[(2, 50), (3, 20), (4, 10), (13, 10), (27, 10)])
        }),
    ); // AdvEngineID
    push(b, i(0)); // IsArtifical
    push(b, i(width - rng.range(0, 20) * 10)); // WindowClientWidth
    push(b, i(height - rng.range(0, 20) * 10)); // WindowClientHeight
    push(b, i(rng.range(-12, 12))); // ClientTimeZone
    push(b, V::Ts(micros + rng.range(-30, 30) * 1_000_000)); // ClientEventTime
    push(b, i(rng.range(0, 5))); // SilverlightVersion1
    push(b, i(rng.range(0, 9))); // SilverlightVersion2
    push(b, i(rng.range(0, 100_000))); // SilverlightVersion3
    push(b, i(rng.range(0, 9))); // SilverlightVersion4
    push(
        b,
        s(if rng.chance(0.8) {
            "utf-8"
        } else {
            "windows-1251"
        }),
    ); // PageCharset
    push(b, i(rng.range(0, 1000))); // CodeVersion
    push(b, i(rng.chance(0.05) as i64)); // IsLink
    push(b, i(rng.chance(0.01) as i64)); // IsDownload
    push(b, i(rng.chance(0.6) as i64)); // IsNotBounce
    push(b, i((rng.next() >> 2) as i64)); // FUniqID
    push(b, s("")); // OriginalURL
    push(b, i((rng.next() >> 33) as i64)); // HID
    push(b, i(0)); // IsOldCounter
    push(b, i(rng.chance(0.1) as i64)); // IsEvent
    push(b, i(rng.chance(0.05) as i64)); // IsParameter
    push(b, i(rng.chance(0.05) as i64)); // DontCountHits
    push(b, i(0)); // WithHash
    push(b, s(["5", "E", "F", "D"][rng.below(4) as usize])); // HitColor
    push(b, V::Ts(micros + 3 * 3_600_000_000)); // LocalEventTime
    push(b, i(rng.range(0, 6))); // Age
    push(b, i(rng.range(0, 2))); // Sex
    push(b, i(rng.range(0, 4))); // Income
    push(b, i(rng.range(0, 1000))); // Interests
    push(b, i(rng.range(0, 3))); // Robotness
    push(b, i((rng.next() >> 33) as i64)); // RemoteIP
    push(b, i(rng.range(-1, 100))); // WindowName
    push(b, i(rng.range(-1, 100))); // OpenerName
    push(b, i(rng.range(0, 30))); // HistoryLength
    push(b, s(["ru", "en", "uk", "de", "tr"][rng.skewed(5) as usize])); // BrowserLanguage
    push(b, s(["ru", "ua", "by", "kz", "us"][rng.skewed(5) as usize])); // BrowserCountry
    push(b, s("")); // SocialNetwork
    push(b, s("")); // SocialAction
    push(b, i(0)); // HTTPError
    for _ in 0..6 {
        push(b, i(rng.range(0, 3000))); // SendTiming … FetchTiming
    }
    push(b, i(0)); // SocialSourceNetworkID
    push(b, s("")); // SocialSourcePage
    push(
        b,
        i(if rng.chance(0.02) {
            rng.range(100, 100_000)
        } else {
            0
        }),
    ); // ParamPrice
    push(b, s("")); // ParamOrderID
    push(b, s(if rng.chance(0.02) { "RUB" } else { "" })); // ParamCurrency
    push(b, i(0)); // ParamCurrencyID
    for _ in 0..4 {
        push(b, s("")); // OpenstatServiceName … OpenstatSourceID
    }
    push(b, s(if rng.chance(0.1) { "yandex" } else { "" })); // UTMSource
    push(b, s(if rng.chance(0.1) { "cpc" } else { "" })); // UTMMedium
    for _ in 0..3 {
        push(b, s("")); // UTMCampaign, UTMContent, UTMTerm
    }
    push(b, s("")); // FromTag
    push(b, i(rng.chance(0.05) as i64)); // HasGCLID
    push(b, i(referer_hash)); // RefererHash
    push(b, i(url_hash)); // URLHash
    push(b, i(0)); // CLID
    debug_assert_eq!(col, COLUMNS.len());
}
