//! Points read together: neighbouring points of one table share one Modbus request.
//!
//! A PLC answers a request for 100 registers about as fast as one for 1, and
//! polling a device point by point multiplies its load and the poll's length
//! by the number of points. Points of the same table whose addresses lie at
//! most [`MAX_GAP`] apart are read as one block, up to the protocol's limit
//! per request. A device that refuses a block (a gap it does not map) has
//! that block read point by point from then on.

use super::config::Point;
use super::register::Table;

/// Unread addresses a block may span between two of its points.
pub const MAX_GAP: u16 = 8;
/// Registers one read may ask for (Modbus application protocol, FC 3 and 4).
const MAX_REGISTERS: u16 = 125;
/// Bits one read may ask for (FC 1 and 2).
const MAX_BITS: u16 = 2000;

/// One request's worth of points.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Block {
    pub table: Table,
    /// First address read.
    pub start: u16,
    /// Registers (or bits) read.
    pub count: u16,
    /// Each point's index in the device's list, and the offset of its first
    /// register (or its bit) in the block.
    pub points: Vec<(usize, u16)>,
    /// The device refused the block: its points are read one by one.
    pub split: bool,
}

impl Block {
    /// Whether it is read with one request.
    pub fn is_merged(&self) -> bool {
        self.points.len() > 1 && !self.split
    }
}

/// Groups the points into blocks, in address order within each table.
pub fn blocks(points: &[Point]) -> Vec<Block> {
    let mut order: Vec<usize> = (0..points.len()).collect();
    order.sort_by_key(|&i| (points[i].table, points[i].address));

    let mut blocks: Vec<Block> = Vec::new();
    for index in order {
        let point = &points[index];
        let width = point.encoding.data.width();
        let end = u32::from(point.address) + u32::from(width);

        if let Some(block) = blocks
            .last_mut()
            .filter(|b| fits(b, point.table, point.address, end))
        {
            block.count = block.count.max((end - u32::from(block.start)) as u16);
            block.points.push((index, point.address - block.start));
            continue;
        }
        blocks.push(Block {
            table: point.table,
            start: point.address,
            count: width,
            points: vec![(index, 0)],
            split: false,
        });
    }
    blocks
}

/// Whether a point of `table` spanning `address..end` joins `block`.
fn fits(block: &Block, table: Table, address: u16, end: u32) -> bool {
    let block_end = u32::from(block.start) + u32::from(block.count);
    let max = if table.is_bits() {
        MAX_BITS
    } else {
        MAX_REGISTERS
    };
    block.table == table
        && u32::from(address) <= block_end + u32::from(MAX_GAP)
        && end - u32::from(block.start) <= u32::from(max)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::scada::PollConfig;

    fn points(yaml_points: &str) -> Vec<Point> {
        let head = "interval: 1s\ndevices:\n  - id: plc\n    address: 127.0.0.1\n    points:\n";
        let text = format!("{head}{yaml_points}");
        let config = PollConfig::from_yaml(&text, "test.yaml", None).unwrap();
        config.devices[0].points.clone()
    }

    #[test]
    fn neighbours_of_one_table_share_a_request_and_the_rest_do_not() {
        let points = points(
            "      - { id: a, kind: other, table: input, address: 9, type: f32 }
      - { id: b, kind: other, table: holding, address: 12, type: u16 }
      - { id: c, kind: other, table: input, address: 0, type: u16 }
      - { id: d, kind: other, table: input, address: 30, type: u16 }
      - { id: e, kind: other, table: coil, address: 7 }
      - { id: f, kind: other, table: coil, address: 8 }
",
        );
        let blocks = blocks(&points);

        // input 0 and 9..11 leave 8 addresses unread between them (MAX_GAP):
        // one block; input 30 is too far; holding and coils have their own.
        let summary: Vec<(Table, u16, u16, Vec<usize>)> = blocks
            .iter()
            .map(|b| {
                (
                    b.table,
                    b.start,
                    b.count,
                    b.points.iter().map(|p| p.0).collect(),
                )
            })
            .collect();
        assert_eq!(
            summary,
            [
                (Table::Coil, 7, 2, vec![4, 5]),
                (Table::Input, 0, 11, vec![2, 0]),
                (Table::Input, 30, 1, vec![3]),
                (Table::Holding, 12, 1, vec![1]),
            ]
        );
        assert_eq!(
            blocks[1].points[1],
            (0, 9),
            "a's registers start 9 into the block"
        );
        assert!(blocks[1].is_merged() && !blocks[2].is_merged());
    }

    #[test]
    fn a_block_stops_at_the_protocol_limit() {
        let many: String = (0..130)
            .map(|i| {
                format!(
                    "      - {{ id: p{i}, kind: other, table: holding, address: {i}, type: u16 }}\n"
                )
            })
            .collect();
        let blocks = blocks(&points(&many));
        assert_eq!(blocks.len(), 2);
        assert_eq!((blocks[0].start, blocks[0].count), (0, 125));
        assert_eq!((blocks[1].start, blocks[1].count), (125, 5));
    }
}
