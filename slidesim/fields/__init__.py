"""Electric fields: Born-charge field forces, the registry dipole model, Landau theory."""
