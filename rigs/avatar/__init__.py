"""The default avatar of datagen render, built in code: geometry, weights, costumes and motions in numpy
(sdf, body, skinning, face, garments, costumes, motions) and their bpy assembly (assemble, bpy_build)."""
