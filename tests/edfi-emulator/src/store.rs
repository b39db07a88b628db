//! The emulator's data store and the request-independent rules over it: natural keys,
//! validation (types, required fields, lengths, reference form, descriptors), reference
//! resolution, dependents, key-change cascades and query by example. Driven by the
//! [`crate::resources`] table; the HTTP layer in `server.rs` only sequences these calls.

use std::collections::{BTreeMap, HashMap};

use serde_json::{Map, Value, json};

use crate::Mode;
use crate::resources::{self, Kind, Resource};

/// One stored item.
#[derive(Debug, Clone)]
pub(crate) struct Item {
    pub id: String,
    pub etag: u64,
    pub modified: String,
    /// The body as posted, without `id`, `_etag`, `_lastModifiedDate`.
    pub body: Value,
    /// Natural key, `name=value&…` in the table's key order.
    pub key: String,
}

/// One collection: items in insertion order, indexed by key and by id.
#[derive(Debug, Default)]
pub(crate) struct Collection {
    pub items: BTreeMap<u64, Item>,
    pub by_key: HashMap<String, u64>,
    pub by_id: HashMap<String, u64>,
}

impl Collection {
    pub fn get_by_key(&self, key: &str) -> Option<&Item> {
        self.by_key.get(key).and_then(|ord| self.items.get(ord))
    }

    pub fn get_by_id(&self, id: &str) -> Option<&Item> {
        self.by_id.get(id).and_then(|ord| self.items.get(ord))
    }

    pub fn remove_id(&mut self, id: &str) -> Option<Item> {
        let ord = self.by_id.remove(id)?;
        let item = self.items.remove(&ord)?;
        self.by_key.remove(&item.key);
        Some(item)
    }
}

/// All stores (one per route year) and the id/ETag counters.
#[derive(Debug, Default)]
pub(crate) struct Stores {
    pub years: HashMap<Option<i32>, HashMap<String, Collection>>,
    next_id: u64,
    next_etag: u64,
    next_ord: u64,
}

/// What an upsert did.
#[derive(Debug)]
pub(crate) struct Written {
    pub id: String,
    pub etag: u64,
    pub created: bool,
}

impl Stores {
    pub fn year(&mut self, year: Option<i32>) -> &mut HashMap<String, Collection> {
        self.years.entry(year).or_default()
    }

    pub fn year_ref(&self, year: Option<i32>) -> Option<&HashMap<String, Collection>> {
        self.years.get(&year)
    }

    pub fn next_etag(&mut self) -> u64 {
        self.next_etag += 1;
        self.next_etag
    }

    /// A deterministic 32-hex id (a bijective mix of a counter, so ids look random but repeat
    /// from run to run).
    pub fn next_id(&mut self) -> String {
        self.next_id += 1;
        hex32(self.next_id)
    }

    /// Inserts or replaces by natural key; keeps `id` of an existing item, or takes `id` if
    /// given (seeding), or makes one.
    pub fn upsert(
        &mut self,
        year: Option<i32>,
        resource: &str,
        key: String,
        body: Value,
        id: Option<String>,
        now: &str,
    ) -> Written {
        let etag = self.next_etag();
        let existing = self
            .year_ref(year)
            .and_then(|y| y.get(resource))
            .and_then(|c| c.by_key.get(&key).copied());
        if let Some(ord) = existing {
            let coll = self.year(year).entry(resource.to_owned()).or_default();
            if let Some(item) = coll.items.get_mut(&ord) {
                item.body = body;
                item.etag = etag;
                now.clone_into(&mut item.modified);
                return Written {
                    id: item.id.clone(),
                    etag,
                    created: false,
                };
            }
        }
        let id = id.unwrap_or_else(|| self.next_id());
        self.next_ord += 1;
        let ord = self.next_ord;
        let coll = self.year(year).entry(resource.to_owned()).or_default();
        coll.by_key.insert(key.clone(), ord);
        coll.by_id.insert(id.clone(), ord);
        coll.items.insert(
            ord,
            Item {
                id: id.clone(),
                etag,
                modified: now.to_owned(),
                body,
                key,
            },
        );
        Written {
            id,
            etag,
            created: true,
        }
    }

    /// Replaces the item `id` (its key may change: the key index follows).
    pub fn replace(
        &mut self,
        year: Option<i32>,
        resource: &str,
        id: &str,
        key: String,
        body: Value,
        now: &str,
    ) -> u64 {
        let etag = self.next_etag();
        let coll = self.year(year).entry(resource.to_owned()).or_default();
        if let Some(&ord) = coll.by_id.get(id)
            && let Some(item) = coll.items.get_mut(&ord)
        {
            if item.key != key {
                coll.by_key.remove(&item.key);
                coll.by_key.insert(key.clone(), ord);
                item.key = key;
            }
            item.body = body;
            item.etag = etag;
            now.clone_into(&mut item.modified);
        }
        etag
    }
}

/// 32 hex digits mixed from `n` (deterministic, distinct for distinct `n`).
pub(crate) fn hex32(n: u64) -> String {
    let a = splitmix(n);
    let b = splitmix(a ^ 0x5eed_f00d);
    format!("{a:016x}{b:016x}")
}

fn splitmix(x: u64) -> u64 {
    let mut z = x.wrapping_add(0x9e37_79b9_7f4a_7c15);
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^ (z >> 31)
}

/// The value at a dot path.
pub(crate) fn get_path<'a>(body: &'a Value, path: &str) -> Option<&'a Value> {
    path.split('.').try_fold(body, |v, part| v.get(part))
}

/// Sets the value at a dot path, creating objects on the way.
pub(crate) fn set_path(body: &mut Value, path: &str, value: Value) {
    let mut cur = body;
    let mut parts = path.split('.').peekable();
    while let Some(part) = parts.next() {
        if !cur.is_object() {
            *cur = Value::Object(Map::new());
        }
        let Value::Object(map) = cur else { return };
        if parts.peek().is_none() {
            map.insert(part.to_owned(), value);
            return;
        }
        cur = map
            .entry(part.to_owned())
            .or_insert_with(|| Value::Object(Map::new()));
    }
}

/// A scalar as the key/filter string: strings raw, numbers and booleans as JSON.
pub(crate) fn scalar(v: &Value) -> Option<String> {
    match v {
        Value::String(s) => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        Value::Bool(b) => Some(b.to_string()),
        _ => None,
    }
}

/// The natural key of `body` (`name=value&…`); missing parts count as empty.
pub(crate) fn key_of(spec: &Resource, body: &Value) -> String {
    spec.key
        .iter()
        .map(|(name, path)| {
            format!(
                "{name}={}",
                get_path(body, path).and_then(scalar).unwrap_or_default()
            )
        })
        .collect::<Vec<_>>()
        .join("&")
}

/// The key values of `body` by key name.
pub(crate) fn key_values(spec: &Resource, body: &Value) -> Vec<(&'static str, Value)> {
    spec.key
        .iter()
        .map(|(name, path)| (*name, get_path(body, path).cloned().unwrap_or(Value::Null)))
        .collect()
}

/// The target key a reference object carries, or the names of the missing properties.
pub(crate) fn ref_key(target: &Resource, obj: &Value) -> Result<String, Vec<&'static str>> {
    let mut missing = Vec::new();
    let mut parts = Vec::new();
    for (name, _) in target.key {
        match obj.get(name).and_then(scalar) {
            Some(v) if !v.is_empty() => parts.push(format!("{name}={v}")),
            _ => missing.push(*name),
        }
    }
    if missing.is_empty() {
        Ok(parts.join("&"))
    } else {
        Err(missing)
    }
}

/// The reference objects of `reference` in `body`, with their JSON path.
pub(crate) fn ref_objects<'a>(
    reference: &resources::Reference,
    body: &'a Value,
) -> Vec<(String, &'a Value)> {
    match reference.collection {
        None => body
            .get(reference.field)
            .map(|v| vec![(format!("$.{}", reference.field), v)])
            .unwrap_or_default(),
        Some(coll) => body
            .get(coll)
            .and_then(Value::as_array)
            .map(|arr| {
                arr.iter()
                    .enumerate()
                    .filter_map(|(i, el)| {
                        el.get(reference.field)
                            .map(|v| (format!("$.{coll}[{i}].{}", reference.field), v))
                    })
                    .collect()
            })
            .unwrap_or_default(),
    }
}

fn add(errors: &mut BTreeMap<String, Vec<String>>, path: String, msg: String) {
    errors.entry(path).or_default().push(msg);
}

fn valid_date(s: &str) -> bool {
    s.len() == 10 && chrono::NaiveDate::parse_from_str(s, "%Y-%m-%d").is_ok()
}

/// Steps 2–5 of the validation order: types, required, lengths, reference form, descriptors.
/// All problems are collected, keyed by `$.path`.
pub(crate) fn validate(
    mode: Mode,
    spec: &Resource,
    body: &Value,
    store: Option<&HashMap<String, Collection>>,
) -> BTreeMap<String, Vec<String>> {
    let mut errors = BTreeMap::new();
    for field in spec.fields {
        let path = format!("$.{}", field.path);
        let last = field.path.rsplit('.').next().unwrap_or(field.path);
        let name = resources::pascal(last);
        let required = format!("{name} is required and should not be left empty.");
        match get_path(body, field.path) {
            None | Some(Value::Null) => {
                if field.required {
                    add(&mut errors, path, required);
                }
            }
            Some(v) => match field.kind {
                Kind::Str(max) => match v.as_str() {
                    None => add(&mut errors, path, format!("{name} must be a string.")),
                    Some(s) if field.required && s.trim().is_empty() => {
                        add(&mut errors, path, required)
                    }
                    Some(s) if s.chars().count() > max => {
                        add(
                            &mut errors,
                            path,
                            format!("{name} must be a string with a maximum length of {max}."),
                        );
                    }
                    Some(_) => {}
                },
                Kind::Int => {
                    if v.as_i64().is_none_or(|n| i32::try_from(n).is_err()) {
                        add(
                            &mut errors,
                            path,
                            format!(
                                "{name} must be an integer between -2147483648 and 2147483647 (got {v})."
                            ),
                        );
                    }
                }
                Kind::Number => {
                    if !v.is_number() {
                        add(
                            &mut errors,
                            path,
                            format!("{name} must be a number (got {v})."),
                        );
                    }
                }
                Kind::Bool => {
                    if !v.is_boolean() {
                        add(
                            &mut errors,
                            path,
                            format!("{name} must be a boolean (got {v})."),
                        );
                    }
                }
                Kind::Date => {
                    if !v.as_str().is_some_and(valid_date) {
                        add(
                            &mut errors,
                            path,
                            format!(
                                "{name} must be a valid date in the format YYYY-MM-DD (got {v})."
                            ),
                        );
                    }
                }
                Kind::Array => {
                    if !v.is_array() {
                        add(&mut errors, path, format!("{name} must be an array."));
                    }
                }
                Kind::Descriptor(_) => match v.as_str() {
                    None => add(&mut errors, path, format!("{name} must be a string.")),
                    Some(s) if s.trim().is_empty() && field.required => {
                        add(&mut errors, path, required)
                    }
                    Some(_) => {}
                },
            },
        }
    }
    // Step 4: references fully formed.
    for reference in spec.references {
        let Some(target) = resources::find(mode, reference.target) else {
            continue;
        };
        let objects = ref_objects(reference, body);
        if objects.is_empty() && reference.required && reference.collection.is_none() {
            add(
                &mut errors,
                format!("$.{}", reference.field),
                format!("{} is required.", resources::pascal(reference.field)),
            );
        }
        for (path, obj) in objects {
            if obj.is_null() {
                if reference.required {
                    add(
                        &mut errors,
                        path,
                        format!("{} is required.", resources::pascal(reference.field)),
                    );
                }
                continue;
            }
            if !obj.is_object() {
                add(
                    &mut errors,
                    path,
                    format!("{} must be an object.", resources::pascal(reference.field)),
                );
                continue;
            }
            if let Err(missing) = ref_key(target, obj) {
                let names: Vec<String> = missing.iter().map(|m| resources::pascal(m)).collect();
                add(
                    &mut errors,
                    path,
                    format!(
                        "{} is missing the following properties: {}",
                        resources::pascal(reference.field),
                        names.join(", ")
                    ),
                );
            }
        }
    }
    // Step 5: descriptor syntax and existence.
    for field in spec.fields {
        let Kind::Descriptor(descriptor) = field.kind else {
            continue;
        };
        let Some(value) = get_path(body, field.path).and_then(Value::as_str) else {
            continue;
        };
        if value.trim().is_empty() {
            continue;
        }
        let path = format!("$.{}", field.path);
        if mode == Mode::V3 && !value.contains('#') {
            add(
                &mut errors,
                path,
                format!(
                    "{descriptor} value '{value}' is not a valid value for use as a descriptor (a '#' is expected to delineate the namespace and code value portions)."
                ),
            );
            continue;
        }
        let coll = store.and_then(|s| s.get(&resources::descriptor_collection(descriptor)));
        if !coll.is_some_and(|c| descriptor_exists(mode, c, value)) {
            add(
                &mut errors,
                path,
                format!("{descriptor} value '{value}' does not exist."),
            );
        }
    }
    errors
}

/// Whether a descriptor value names a stored descriptor: v3 `namespace#code`; v2 a bare code
/// value or `namespace/code`.
fn descriptor_exists(mode: Mode, coll: &Collection, value: &str) -> bool {
    let exact = |ns: &str, code: &str| {
        coll.by_key
            .contains_key(&format!("namespace={ns}&codeValue={code}"))
    };
    match mode {
        Mode::V3 => value
            .split_once('#')
            .is_some_and(|(ns, code)| exact(ns, code)),
        Mode::V2 => {
            value
                .rsplit_once('/')
                .is_some_and(|(ns, code)| exact(ns, code))
                || coll
                    .items
                    .values()
                    .any(|i| i.body.get("codeValue").and_then(Value::as_str) == Some(value))
        }
    }
}

/// The first reference of `body` that does not resolve: (reference field, target collection).
pub(crate) fn unresolved(
    mode: Mode,
    spec: &Resource,
    body: &Value,
    store: Option<&HashMap<String, Collection>>,
) -> Option<(&'static str, &'static str)> {
    for reference in spec.references {
        let Some(target) = resources::find(mode, reference.target) else {
            continue;
        };
        for (_, obj) in ref_objects(reference, body) {
            let Ok(key) = ref_key(target, obj) else {
                continue;
            };
            let found = store
                .and_then(|s| s.get(reference.target))
                .and_then(|c| c.get_by_key(&key))
                .is_some();
            if !found {
                return Some((reference.field, reference.target));
            }
        }
    }
    None
}

/// The entity of the first stored item that references `key` of `target`, if any.
pub(crate) fn dependent(
    mode: Mode,
    store: &HashMap<String, Collection>,
    target: &str,
    key: &str,
) -> Option<&'static str> {
    let target_spec = resources::find(mode, target)?;
    for spec in resources::table(mode) {
        for reference in spec.references.iter().filter(|r| r.target == target) {
            let Some(coll) = store.get(spec.name) else {
                continue;
            };
            for item in coll.items.values() {
                if ref_objects(reference, &item.body)
                    .iter()
                    .any(|(_, obj)| ref_key(target_spec, obj).is_ok_and(|k| k == key))
                {
                    return Some(spec.entity);
                }
            }
        }
    }
    None
}

/// v3 key change of `target` from `old_key` to `new_values`: rewrites every reference to it,
/// and recursively the references to referencing items whose own key changed.
pub(crate) fn cascade(
    mode: Mode,
    stores: &mut Stores,
    year: Option<i32>,
    target: &'static str,
    old_key: String,
    new_values: Vec<(&'static str, Value)>,
) {
    let mut work = vec![(target, old_key, new_values)];
    while let Some((target, old_key, new_values)) = work.pop() {
        let Some(target_spec) = resources::find(mode, target) else {
            continue;
        };
        for spec in resources::table(mode) {
            for reference in spec.references.iter().filter(|r| r.target == target) {
                let Some(coll) = stores.year(year).get_mut(spec.name) else {
                    continue;
                };
                let mut rekeyed = Vec::new();
                for (ord, item) in &mut coll.items {
                    let mut touched = false;
                    let mut rewrite = |obj: &mut Value| {
                        if ref_key(target_spec, obj).is_ok_and(|k| k == old_key) {
                            for (name, value) in &new_values {
                                set_path(obj, name, value.clone());
                            }
                            touched = true;
                        }
                    };
                    match reference.collection {
                        None => {
                            if let Some(obj) = item.body.get_mut(reference.field) {
                                rewrite(obj);
                            }
                        }
                        Some(c) => {
                            if let Some(arr) = item.body.get_mut(c).and_then(Value::as_array_mut) {
                                for el in arr {
                                    if let Some(obj) = el.get_mut(reference.field) {
                                        rewrite(obj);
                                    }
                                }
                            }
                        }
                    }
                    if touched {
                        let new_key = key_of(spec, &item.body);
                        if new_key != item.key {
                            rekeyed.push((
                                *ord,
                                item.key.clone(),
                                new_key,
                                key_values(spec, &item.body),
                            ));
                        }
                    }
                }
                for (ord, old, new, values) in rekeyed {
                    coll.by_key.remove(&old);
                    coll.by_key.insert(new.clone(), ord);
                    if let Some(item) = coll.items.get_mut(&ord) {
                        item.key = new;
                    }
                    work.push((spec.name, old, values));
                }
            }
        }
    }
}

/// Root scalars plus the scalars of `…Reference` objects (first occurrence wins), for query
/// by example.
pub(crate) fn flatten(item: &Item) -> HashMap<String, String> {
    let mut out = HashMap::new();
    out.insert("id".to_owned(), item.id.clone());
    if let Value::Object(map) = &item.body {
        for (k, v) in map {
            if let Some(s) = scalar(v) {
                out.insert(k.clone(), s);
            }
        }
        for (k, v) in map {
            if let (true, Value::Object(inner)) = (k.ends_with("Reference"), v) {
                for (k2, v2) in inner {
                    if let Some(s) = scalar(v2) {
                        out.entry(k2.clone()).or_insert(s);
                    }
                }
            }
        }
    }
    out
}

/// An item as the API shows it: the body plus `id`, `_etag`, `_lastModifiedDate`.
pub(crate) fn render(item: &Item) -> Value {
    let mut body = item.body.clone();
    if let Value::Object(map) = &mut body {
        map.insert("id".to_owned(), Value::String(item.id.clone()));
        map.insert("_etag".to_owned(), Value::String(item.etag.to_string()));
        map.insert(
            "_lastModifiedDate".to_owned(),
            Value::String(item.modified.clone()),
        );
    }
    body
}

/// [`render`] plus, in v3, a `link` (`rel`, `href`) in every resolvable single reference, as
/// ODS/API 3.x+ GET responses show them.
pub(crate) fn render_linked(
    mode: Mode,
    spec: &Resource,
    store: Option<&HashMap<String, Collection>>,
    item: &Item,
) -> Value {
    let mut out = render(item);
    if mode != Mode::V3 {
        return out;
    }
    for reference in spec.references.iter().filter(|r| r.collection.is_none()) {
        let Some(target) = resources::find(mode, reference.target) else {
            continue;
        };
        let Some(obj) = out.get(reference.field) else {
            continue;
        };
        let Ok(key) = ref_key(target, obj) else {
            continue;
        };
        let Some(found) = store
            .and_then(|s| s.get(reference.target))
            .and_then(|c| c.get_by_key(&key))
        else {
            continue;
        };
        let link = json!({"rel": target.entity, "href": format!("/ed-fi/{}/{}", reference.target, found.id)});
        if let Some(Value::Object(map)) = out.get_mut(reference.field) {
            map.insert("link".to_owned(), link);
        }
    }
    out
}

/// Removes server-made parts a client may echo back from a GET: `id`, `_etag`,
/// `_lastModifiedDate` at the root and `link` in top-level `…Reference` objects.
pub(crate) fn strip_server_fields(body: &mut Value) {
    if let Value::Object(map) = body {
        map.remove("_etag");
        map.remove("_lastModifiedDate");
        for (k, v) in map.iter_mut() {
            if let (true, Value::Object(inner)) = (k.ends_with("Reference"), v) {
                inner.remove("link");
            }
        }
    }
}

/// v3 `/metadata/data/v3/dependencies`: every table resource with its load order (1 + the
/// highest order among the resources it references).
pub(crate) fn dependencies(mode: Mode) -> Vec<(String, usize)> {
    fn order(mode: Mode, name: &str, depth: usize) -> usize {
        let Some(spec) = resources::find(mode, name) else {
            return 1;
        };
        if depth > 16 {
            return 1;
        }
        1 + spec
            .references
            .iter()
            .map(|r| order(mode, r.target, depth + 1))
            .max()
            .unwrap_or(0)
    }
    let mut out: Vec<(String, usize)> = resources::table(mode)
        .iter()
        .map(|r| (r.name.to_owned(), order(mode, r.name, 0)))
        .collect();
    out.sort_by_key(|(name, n)| (*n, name.clone()));
    out
}
