//! Behaviour rules: what no single sensor sees.
//!
//! | rule | input | event |
//! |---|---|---|
//! | after-hours access to a restricted zone | a granted credential, the zone's schedule | `access.after_hours` |
//! | burst of denied badges | denials per door or per badge in a window | `access.badge_denied_burst` |
//! | one badge in two distant places too quickly | zone polygons, floors, walking speed | `access.impossible_travel` |
//! | tailgating | people counted (door counter or video line) vs grants | `access.tailgating`, `video.tailgating` |
//! | a keypad code new to a badge | codes and the badges that used them | `access.code_first_use` |
//! | door forced, held open | the door's messages, or opened without closing | `access.door_forced`, `access.door_held_open` |
//! | loitering | a stationary person tracked longer than a threshold | `video.loitering` |
//! | crowding | people tracked or counted in a zone over its capacity | `video.crowding` |
//! | person after hours | a person in a zone outside its schedule | `video.person_detected` |
//! | camera offline or tampered | status and tamper messages, silence | `video.camera_offline`, `video.camera_tamper` |

pub mod access;
pub mod building;
pub mod video;

use std::collections::HashMap;
use std::hash::Hash;

/// Makes room in a map that reached `cap` by dropping an arbitrary tenth of it.
pub(crate) fn make_room<K: Eq + Hash + Clone, V>(map: &mut HashMap<K, V>, cap: usize) {
    if map.len() < cap {
        return;
    }
    let drop: Vec<K> = map.keys().take(cap / 10 + 1).cloned().collect();
    for key in drop {
        map.remove(&key);
    }
}
