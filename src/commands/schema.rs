//! `backstop schema`: print the JSON Schema of the scenario format (draft-07),
//! generated from the types the parser reads, for editors and other tools.

use anyhow::Result;

/// Prints the scenario's JSON Schema to standard output.
///
/// # Errors
/// None in practice: writing to a closed standard output ends the program as
/// for every other command.
pub fn schema() -> Result<()> {
    print!("{}", backstop_sim::config::scenario_schema_json());
    Ok(())
}
